// A guard in front of libxml2 against one denial of service its 2.9 series cannot stop: xmlParseStartTag2
// checks each attribute of an element against all earlier ones (quadratic), before any SAX callback can
// intervene. Measured here: 40,000 attributes on one element (390 KB) cost 0.8 s, and a 4 MiB envelope holds
// ten times as many. (libxml2 2.12 switched to a hash table; Debian 12 ships 2.9.14.)
//
// This is not an XML scanner: it decodes nothing and never decides what is well-formed. It only bounds,
// conservatively, how many attributes a start tag can have before the bytes reach libxml2:
// every attribute has exactly one `=` outside its quoted value, and no start tag contains `<` (attribute values
// may not), so the `=` bytes from a start tag's `<` to the next `<` are an upper bound on its attributes. The
// count can only over-estimate (text after the tag, `=` inside values), never under-estimate, so no quoting or
// comment trick gets around it; the limit is generous enough that real text never trips it.

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// `package`: UPnPDM puts the same guard in front of libxml2 for the XML argument documents devices send.
package struct StartTagGuard {
    let limit: Int
    /// Whether the region since the last `<` is a start tag (not an end tag, comment, CDATA or PI).
    private var inStartTag = false
    /// The last chunk ended right after a `<`: the next chunk's first byte decides what it opens.
    private var decisionPending = false
    private var equalsSigns = 0

    package init(limit: Int) { self.limit = limit }

    /// Accounts for the next chunk; false when a start tag may carry more than `limit` attributes.
    package mutating func admit(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return true }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let end = chunk.count
        if decisionPending {
            inStartTag = Self.opensStartTag(bytes[0])
            decisionPending = false
        }
        var position = 0
        while position < end {
            // Jump to the next `=` (memchr is vectorised: text without `=` costs almost nothing).
            guard let found = memchr(bytes + position, 0x3D, end - position) else {
                noteLastLessThan(bytes, from: position, to: end, chunkEnd: end)
                return true
            }
            let equals = UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - bytes
            noteLastLessThan(bytes, from: position, to: equals, chunkEnd: end)
            if inStartTag {
                equalsSigns += 1
                if equalsSigns > limit { return false }
            }
            position = equals + 1
        }
        return true
    }

    /// If a `<` lies in [from, to), a new region starts at the last one: reset the count and classify it.
    /// The backwards walk stops at that `<`, so over a whole chunk each byte is visited at most once.
    @inline(__always)
    private mutating func noteLastLessThan(_ bytes: UnsafePointer<UInt8>, from: Int, to: Int, chunkEnd: Int) {
        var index = to
        while index > from {
            index -= 1
            if bytes[index] == 0x3C {
                equalsSigns = 0
                if index + 1 < chunkEnd {
                    inStartTag = Self.opensStartTag(bytes[index + 1])
                } else {
                    decisionPending = true
                }
                return
            }
        }
    }

    /// `</…` (end tag), `<!…` (comment, CDATA, DOCTYPE) and `<?…` (PI) carry no attributes.
    @inline(__always)
    private static func opensStartTag(_ byte: UInt8) -> Bool {
        byte != 0x2F && byte != 0x21 && byte != 0x3F
    }
}
