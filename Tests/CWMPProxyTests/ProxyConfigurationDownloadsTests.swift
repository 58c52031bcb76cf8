// The `downloads` section of the configuration: per-FileType hooks, size and time limits; errors name the key.
import Testing
@testable import cwmp_proxy

@Suite struct ProxyConfigurationDownloadsTests {
    struct Missing: Error {}

    func parse(_ json: String) throws(ConfigurationError) -> ProxyConfiguration {
        try ProxyConfiguration.parse(json: Array(json.utf8)) { _ in throw Missing() }
    }

    @Test func defaultsHaveNoHookSoEveryDownloadIsReportedFailed() throws {
        let downloads = try parse("{}").downloads
        #expect(downloads.hooks.isEmpty)
        #expect(downloads.maximumFileSize == 64 << 20)
        #expect(downloads.timeLimitSeconds == 600)
    }

    @Test func readsHooksAndLimits() throws {
        let downloads = try parse("""
            {"downloads": {"hooks": {"1 Firmware Upgrade Image": "/usr/local/sbin/apply-firmware",
                                     "X 00D09E Bundle": "/usr/local/sbin/apply-bundle"},
                           "maximumFileSize": 1000, "timeLimitSeconds": 30}}
            """).downloads
        #expect(downloads.hooks == ["1 Firmware Upgrade Image": "/usr/local/sbin/apply-firmware",
                                    "X 00D09E Bundle": "/usr/local/sbin/apply-bundle"])
        #expect(downloads.maximumFileSize == 1000)
        #expect(downloads.timeLimitSeconds == 30)
    }

    @Test(arguments: [
        (#"{"downloads": {"hooks": {"1 Firmware Upgrade Image": "apply.sh"}}}"#, "downloads.hooks.1 Firmware Upgrade Image"),
        (#"{"downloads": {"hooks": {"1 Firmware Upgrade Image": 3}}}"#, "downloads.hooks.1 Firmware Upgrade Image"),
        (#"{"downloads": {"hooks": []}}"#, "downloads.hooks"),
        (#"{"downloads": {"maximumFileSize": 0}}"#, "downloads.maximumFileSize"),
        (#"{"downloads": {"timeLimitSeconds": 0}}"#, "downloads.timeLimitSeconds"),
        (#"{"downloads": {"hook": {}}}"#, "downloads.hook"),
    ])
    func errorsNameTheKeyAtFault(json: String, key: String) {
        #expect(throws: ConfigurationError.self) { try parse(json) }
        do { _ = try parse(json) } catch { #expect(error.key == key) }
    }
}
