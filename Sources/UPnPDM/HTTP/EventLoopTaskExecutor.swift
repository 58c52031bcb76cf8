// A NIO event loop as a Swift Concurrency task executor, so the code that drives a device (build the request, await
// the answer, read it) can run on the loop that carries the device's connection.
//
// Why: an action awaited from the cooperative pool crosses threads twice, pool → loop to write, loop → pool to
// resume, and each crossing is an eventfd write, an epoll return and a futex wake-up. That was about a third of the
// control point's CPU per GetValues (Benchmarks/README.md, UPnP control point). Under
// `withTaskExecutorPreference(client.preferredExecutor(for: url))` the task runs on the loop itself: the request is
// written from the loop (no wake-up) and the answer's continuation is resumed by `execute` from inside the loop,
// which only appends to the loop's task queue.
//
// What runs there must never block: a blocked loop stalls every device (and every connection) it carries. The
// control path is non-blocking by construction: NIO I/O, libxml2 on in-memory buffers, locks held only for a few
// dictionary operations and never across an await.
//
// swift-nio 2.101 makes an EventLoop a SerialExecutor (EventLoop+SerialExecutor.swift), not a TaskExecutor.

import NIOCore

final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { [self] in
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
