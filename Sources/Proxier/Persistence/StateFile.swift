#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates the state directory and the database file with owner-only permissions *before* SQLite opens it.
///
/// The database holds secrets the device must know (ConnectionRequestPassword, the ACS password). SQLite would
/// create the file with 0644 minus the umask, and it gives the `-wal` and `-shm` files the permissions of the
/// database file, so creating the database file 0600 ourselves covers all three. Files left by an older run with
/// wider permissions are tightened as well.
enum StateFile {
    static func prepare(directory: String, databasePath: String) throws(ProxierError) {
        guard directory.hasPrefix("/") else {
            // Relative paths depend on the working directory, and a name starting with `file:` would be taken
            // as a URI by SQLite (the vendored build enables SQLITE_USE_URI).
            throw ProxierError(.storeFailure, "the state directory must be an absolute path: \(directory)")
        }
        if mkdir(directory, 0o700) != 0 {
            let error = errno
            guard error == EEXIST else {
                throw ProxierError(.storeFailure, "cannot create the state directory \(directory): \(describe(error))")
            }
        }
        let descriptor = open(databasePath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ProxierError(.storeFailure, "cannot create \(databasePath): \(describe(errno))")
        }
        defer { _ = close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else {
            throw ProxierError(.storeFailure, "cannot restrict \(databasePath) to its owner: \(describe(errno))")
        }
        for suffix in ["-wal", "-shm"] {
            // Absent is fine (SQLite creates them with the database file's mode); anything else must be tightened.
            if chmod(databasePath + suffix, 0o600) != 0, errno != ENOENT {
                throw ProxierError(.storeFailure, "cannot restrict \(databasePath)\(suffix) to its owner: \(describe(errno))")
            }
        }
    }

    private static func describe(_ error: Int32) -> String {
        guard let text = strerror(error) else { return "errno \(error)" }
        return String(cString: text)
    }
}
