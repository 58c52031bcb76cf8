// Fetching descriptions: GET the URL with the lenient client, insist on 200, parse with libxml2. Both caps apply:
// the HTTP body cap while reading, the document cap (smaller for descriptions) before libxml2 sees a byte.

extension UPnPHTTPClient {
    /// Fetches and parses the device description at `location` (the SSDP LOCATION).
    public func fetchDeviceDescription(location: String) async throws(UPnPDMError) -> UPnPDeviceDescription {
        let response = try await fetchDocument(location, what: "device description")
        return try UPnPDeviceDescription(parsing: response.body, location: location)
    }

    /// Fetches and parses the SCPD at `url` (a service's absolute `scpdURL`).
    public func fetchServiceDescription(url: String) async throws(UPnPDMError) -> UPnPServiceDescription {
        let response = try await fetchDocument(url, what: "service description")
        return try UPnPServiceDescription(parsing: response.body)
    }

    private func fetchDocument(_ url: String, what: String) async throws(UPnPDMError) -> UPnPHTTPResponse {
        let response = try await execute(UPnPHTTPRequest(method: .GET, url: url))
        guard response.statusCode == 200 else {
            throw UPnPDMError(.unexpectedHTTPStatus,
                              "GET \(url) for the \(what) answered HTTP \(response.statusCode) \(response.reasonPhrase)")
        }
        return response
    }
}
