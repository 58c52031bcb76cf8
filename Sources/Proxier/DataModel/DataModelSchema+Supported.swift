// A device supports a part of TR-181 (a gateway a few dozen objects, a UPnP DM device what its
// SupportedDataModels lists). The engine serves exactly the schema it is given, so the full generated schema
// is cut down to the supported part first.

extension DataModelSchema {
    /// The part of the schema named by `supported`: template paths ending with a dot name objects with all their
    /// parameters (`Device.DeviceInfo.`), others single parameters (`Device.IP.Interface.{i}.Enable`). Objects
    /// leading to anything kept are kept too, without parameters of their own unless named, so that tables
    /// keep their access and limits.
    public func restricted(to supported: Set<String>) -> DataModelSchema {
        var kept: [String: ObjectSchema] = [:]
        for (path, object) in objects {
            let parameters = supported.contains(path) ? object.parameters : object.parameters.filter { supported.contains(path + $0.name) }
            let leadsToSupported = supported.contains { $0.hasPrefix(path) }
            guard leadsToSupported else { continue }
            var copy = object
            copy.parameters = parameters
            kept[path] = copy
        }
        return DataModelSchema(objects: Array(kept.values))
    }
}
