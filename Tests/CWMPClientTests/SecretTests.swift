import Testing
@testable import CWMPClient

@Suite struct SecretTests {
    struct Holder { var password: Secret }

    @Test func noDescriptionRevealsTheValue() {
        let secret = Secret("hunter2")
        #expect(!"\(secret)".contains("hunter2"))
        #expect(!String(reflecting: secret).contains("hunter2"))
        #expect(!String(describing: Holder(password: secret)).contains("hunter2"))
        #expect(!String(reflecting: [secret]).contains("hunter2"))
        #expect(secret.revealed == "hunter2")
    }
}
