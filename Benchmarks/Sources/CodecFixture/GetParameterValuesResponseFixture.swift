// The codec benchmarks' input: a GetParameterValuesResponse of about 1 MiB with 5,000 parameters, the size a
// full-tree read of a large gateway produces. Written by hand (not by the encoder under test) so decode and
// encode are measured against the same independent bytes.

public enum GetParameterValuesResponseFixture {
    public static let parameterCount = 5_000

    public static let bytes: [UInt8] = {
        let types = ["string", "unsignedInt", "boolean", "dateTime", "int", "unsignedLong"]
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" \
            xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
            xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
            <soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">bench-1</cwmp:ID></soap-env:Header>
            <soap-env:Body><cwmp:GetParameterValuesResponse>
            <ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[\(parameterCount)]">

            """
        for index in 0..<parameterCount {
            let type = types[index % types.count]
            let value: String
            switch type {
            case "unsignedInt": value = String(index * 7)
            case "boolean": value = index % 2 == 0 ? "true" : "false"
            case "dateTime": value = "2026-11-23T13:33:\(String(index % 60).leftPadded(2))Z"
            case "int": value = String(-index)
            case "unsignedLong": value = String(UInt64(index) * 1_000_003)
            default: value = "Value &amp; text &lt;\(index)&gt; for a realistic string parameter of the LAN device"
            }
            xml += """
                <ParameterValueStruct><Name>Device.Hosts.Host.\(index / 20 + 1).X_VENDOR_Extension\
                .Parameter\(index % 20)Name</Name><Value xsi:type="xsd:\(type)">\(value)</Value></ParameterValueStruct>

                """
        }
        xml += "</ParameterList></cwmp:GetParameterValuesResponse></soap-env:Body></soap-env:Envelope>\n"
        return Array(xml.utf8)
    }()
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
