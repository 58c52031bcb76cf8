"""The in-memory UPnP DM node tree behind dm_device.py's ConfigurationManagement:2 service.

Kept apart from the UPnP stack so that the CMS semantics (paths, `#` structure paths, sparse 0-based instances,
typed values, atomic SetValues, attributes, the 700-series faults) read as one piece. Every XML argument document is
built with xml.etree and parsed with defusedxml (no DTDs, no entities), never by string concatenation.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
import xml.etree.ElementTree as ET

import defusedxml.ElementTree as DET

CMS_NS = "urn:schemas-upnp-org:dm:cms"
CMS_SCHEMA_LOCATION = "urn:schemas-upnp-org:dm:cms http://www.upnp.org/schemas/dm/cms.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ET.register_namespace("cms", CMS_NS)
ET.register_namespace("xsi", XSI_NS)


class CMSFault(Exception):
    """A ConfigurationManagement:2 fault: the UPnP errorCode and its errorDescription."""

    def __init__(self, code: int, description: str):
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


# CMS:2 action-specific error codes (upnp-dm.md §2.6). 707 and 709+ are not confirmed anywhere here and are
# therefore never raised by the model (a test can still inject them with the `fail` control command).
INVALID_ARGUMENT_SYNTAX = 701
INVALID_XML_ARGUMENT = 702
NO_SUCH_NAME = 703
INVALID_VALUE_TYPE = 704
INVALID_VALUE = 705
READ_ONLY_VIOLATION = 706
RESOURCE_TEMPORARILY_UNAVAILABLE = 708

FAULT_NAMES = {
    701: "Invalid Argument Syntax",
    702: "Invalid XML Argument",
    703: "No Such Name",
    704: "Invalid Value Type",
    705: "Invalid Value",
    706: "Read Only Violation",
    708: "Resource Temporarily Unavailable",
}


def fault(code: int, detail: str = "") -> CMSFault:
    name = FAULT_NAMES.get(code, "Action Failed")
    return CMSFault(code, f"{name}: {detail}" if detail else name)


@dataclass(frozen=True)
class ParamDef:
    """One parameter of the definition tree: its TR-106 type, writability and limits."""

    type: str  # string | boolean | unsignedInt | int | dateTime
    writable: bool = False
    default: str = ""
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None


@dataclass
class TableDef:
    """A multi-instance node (`…/Name/#/`): its children and whether a CP may create and delete rows."""

    params: dict[str, ParamDef]
    tables: dict[str, "TableDef"] = field(default_factory=dict)
    writable: bool = False


# Structure paths use `#` for "any instance" (upnp-dm.md §2.3). Objects end with `/`.
DEVICE_INFO: dict[str, ParamDef] = {
    "ManufacturerOUI": ParamDef("string", default="0A1B2C", max_length=6),
    "ProductClass": ParamDef("string", default="DMTestDevice", max_length=64),
    "SerialNumber": ParamDef("string", default="", max_length=64),
    "FriendlyName": ParamDef("string", writable=True, default="", max_length=64),
    "DeviceType": ParamDef("string", default="urn:schemas-upnp-org:device:ManageableDevice:2"),
    "ProvisioningCode": ParamDef("string", writable=True, default="", max_length=64),
    "SoftwareVersion": ParamDef("string", default="1.0.0", max_length=64),
    "SoftwareDescription": ParamDef("string", default="cwmp-proxy DM test device"),
    "HardwareVersion": ParamDef("string", default="HW-A1", max_length=64),
    "UpTime": ParamDef("unsignedInt", default="0"),
}

BBF_SCALARS: dict[str, ParamDef] = {
    "DeviceInfo/Manufacturer": ParamDef("string", default="cwmp-proxy test lab"),
    "DeviceInfo/ModelName": ParamDef("string", default="DM-Sim"),
    "DeviceInfo/SoftwareVersion": ParamDef("string", default="1.0.0"),
    "Time/Enable": ParamDef("boolean", writable=True, default="1"),
    "Time/NTPServer1": ParamDef("string", writable=True, default="ntp.example.org", max_length=64),
    "Time/LocalTimeZone": ParamDef("string", writable=True, default="CET-1CEST,M3.5.0,M10.5.0/3", max_length=256),
    "Time/CurrentLocalTime": ParamDef("dateTime", default="2026-01-01T00:00:00Z"),
    "NAT/PortMappingNumberOfEntries": ParamDef("unsignedInt", default="0"),
    "IP/InterfaceNumberOfEntries": ParamDef("unsignedInt", default="0"),
}

PORT_MAPPING = TableDef(
    writable=True,
    params={
        "Enable": ParamDef("boolean", writable=True, default="0"),
        "Description": ParamDef("string", writable=True, default="", max_length=256),
        "Protocol": ParamDef("string", writable=True, default="TCP", enum=("TCP", "UDP")),
        "ExternalPort": ParamDef("unsignedInt", writable=True, default="0", minimum=0, maximum=65535),
        "InternalPort": ParamDef("unsignedInt", writable=True, default="0", minimum=0, maximum=65535),
        "InternalClient": ParamDef("string", writable=True, default="", max_length=256),
        "LeaseDuration": ParamDef("unsignedInt", writable=True, default="0"),
    },
)

IPV4_ADDRESS = TableDef(
    writable=False,
    params={
        "Enable": ParamDef("boolean", writable=True, default="1"),
        "IPAddress": ParamDef("string", default="0.0.0.0", max_length=15),
        "SubnetMask": ParamDef("string", default="0.0.0.0", max_length=15),
    },
)

IP_INTERFACE = TableDef(
    writable=False,
    params={
        "Enable": ParamDef("boolean", writable=True, default="1"),
        "Name": ParamDef("string", default="", max_length=64),
        "Status": ParamDef("string", default="Up", enum=("Up", "Down", "Unknown", "Dormant", "NotPresent",
                                                           "LowerLayerDown", "Error")),
        "MaxMTUSize": ParamDef("unsignedInt", writable=True, default="1500", minimum=64, maximum=65535),
        "IPv4AddressNumberOfEntries": ParamDef("unsignedInt", default="0"),
    },
    tables={"IPv4Address": IPV4_ADDRESS},
)

# Multi-instance nodes, by the structure path of their parent (`/BBF/NAT/`, `/BBF/IP/Interface/#/`).
TOP_TABLES: dict[str, tuple[str, TableDef]] = {
    "/BBF/NAT/PortMapping/": ("/BBF/NAT/", PORT_MAPPING),
    "/BBF/IP/Interface/": ("/BBF/IP/", IP_INTERFACE),
}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def structure_of(path: str) -> str:
    """`/BBF/NAT/PortMapping/3/Enable` → `/BBF/NAT/PortMapping/#/Enable` (numbers after a table name become `#`)."""
    return re.sub(r"/\d+(?=/|$)", "/#", path)


@dataclass
class Node:
    """An existing parameter: its definition, value and EventOnChange attribute."""

    definition: ParamDef
    value: str
    event_on_change: bool = False


class DataModel:
    """The device's tree: `params` maps every existing instance path of a leaf to its Node."""

    def __init__(self, serial: str, friendly_name: str, address: str, event_on_change: bool = False):
        self.serial = serial
        self.friendly_name = friendly_name
        self.address = address
        # The EventOnChange attribute every parameter starts with (and returns to on BaselineReset).
        self.default_event_on_change = event_on_change
        self.params: dict[str, Node] = {}
        # Next instance number per table instance path (`/BBF/NAT/PortMapping/`); never reused (sparse after deletes).
        self.next_instance: dict[str, int] = {}
        self.reset()

    # ---- construction -------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """The baseline configuration (BaselineReset returns here)."""
        self.params = {}
        self.next_instance = {}
        for name, definition in DEVICE_INFO.items():
            self.params[f"/UPnP/DM/DeviceInfo/{name}"] = Node(definition, definition.default)
        self.params["/UPnP/DM/DeviceInfo/SerialNumber"].value = self.serial
        self.params["/UPnP/DM/DeviceInfo/FriendlyName"].value = self.friendly_name
        for name, definition in BBF_SCALARS.items():
            self.params[f"/BBF/{name}"] = Node(definition, definition.default)
        lan = self._add_instance("/BBF/IP/Interface/", IP_INTERFACE, {"Name": "br-lan"})
        self._add_instance(f"{lan}IPv4Address/", IPV4_ADDRESS, {"IPAddress": self.address, "SubnetMask": "255.255.255.252"})
        wan = self._add_instance("/BBF/IP/Interface/", IP_INTERFACE, {"Name": "wan0", "Status": "Down"})
        self._add_instance(f"{wan}IPv4Address/", IPV4_ADDRESS, {"IPAddress": "0.0.0.0"})
        # Instance numbers start at 0 (CMS:2 Appendix C); deleting 1 makes the table sparse from the start.
        for description, port in (("web", 80), ("gone", 81), ("ssh", 22)):
            self._add_instance("/BBF/NAT/PortMapping/", PORT_MAPPING, {
                "Enable": "1", "Description": description, "ExternalPort": str(8000 + port),
                "InternalPort": str(port), "InternalClient": "10.0.0.10"})
        self._delete_instance("/BBF/NAT/PortMapping/1/")
        self._refresh_counts()
        for node in self.params.values():
            node.event_on_change = self.default_event_on_change

    def _table_def(self, table_path: str) -> TableDef | None:
        """The TableDef of an instance table path such as `/BBF/IP/Interface/0/IPv4Address/`."""
        structure = structure_of(table_path)
        if structure in TOP_TABLES:
            return TOP_TABLES[structure][1]
        match = re.fullmatch(r"(.*/)#/([^/#]+)/", structure)
        if not match:
            return None
        parent = self._table_def(re.sub(r"/\d+/$", "/", table_path[: len(table_path) - len(match.group(2)) - 1]))
        return parent.tables.get(match.group(2)) if parent else None

    def _add_instance(self, table_path: str, table: TableDef, values: dict[str, str] | None = None) -> str:
        number = self.next_instance.get(table_path, 0)
        self.next_instance[table_path] = number + 1
        instance = f"{table_path}{number}/"
        for name, definition in table.params.items():
            self.params[instance + name] = Node(definition, (values or {}).get(name, definition.default),
                                                getattr(self, "default_event_on_change", False))
        for name in table.tables:
            self.next_instance.setdefault(f"{instance}{name}/", 0)
        return instance

    def _delete_instance(self, instance: str) -> None:
        for path in [p for p in self.params if p.startswith(instance)]:
            del self.params[path]
        for path in [p for p in self.next_instance if p.startswith(instance)]:
            del self.next_instance[path]

    def _refresh_counts(self) -> None:
        """The `…NumberOfEntries` parameters follow the tables."""
        for path, node in self.params.items():
            if path.endswith("NumberOfEntries"):
                table = path[: -len("NumberOfEntries")] + "/"
                node.value = str(len(self.instances_of(table)))

    def instances_of(self, table_path: str) -> list[str]:
        pattern = re.compile(re.escape(table_path) + r"(\d+)/")
        found = {m.group(0) for p in self.params if (m := pattern.match(p))}
        return sorted(found, key=lambda s: int(s[len(table_path):-1]))

    # ---- path helpers --------------------------------------------------------------------------------------------
    @staticmethod
    def check_syntax(path: str) -> None:
        if not path.startswith("/") or "//" in path or any(c in path for c in " \t\r\n<>\"'"):
            raise fault(INVALID_ARGUMENT_SYNTAX, f"bad node path {path!r}")

    def match(self, path: str) -> list[str]:
        """Existing leaf paths named by a content path: a leaf, a partial path (`/`), `#` wildcards allowed."""
        self.check_syntax(path)
        if "#" in path:
            regex = re.compile("^" + re.escape(path).replace("\\#", r"\d+") + ("" if path.endswith("/") else "$"))
            found = [p for p in self.params if regex.match(p)]
        elif path.endswith("/"):
            found = [p for p in self.params if p.startswith(path)]
        else:
            found = [path] if path in self.params else []
        if not found and not (path.endswith("/") and self._is_known_object(path)):
            raise fault(NO_SUCH_NAME, path)
        return found

    def _is_known_object(self, path: str) -> bool:
        """An existing object (even with no leaves, such as an empty table) is not a 703."""
        return any(p.startswith(path) for p in self.next_instance) or path in self.next_instance

    def structure_paths(self) -> list[str]:
        """Every structure path of the definition tree, objects (ending `/`) and parameters."""
        paths: set[str] = set()
        for path in self.params:
            structure = structure_of(path)
            paths.add(structure)
            parts = structure.strip("/").split("/")
            for i in range(1, len(parts)):
                paths.add("/" + "/".join(parts[:i]) + "/")
        for table_path in self.next_instance:  # empty tables still define their rows
            structure = structure_of(table_path)
            paths.add(structure)
            table = self._table_def(table_path)
            if table:
                paths.add(structure + "#/")
                for name in table.params:
                    paths.add(structure + "#/" + name)
        return sorted(paths)

    @staticmethod
    def _depth_ok(start: str, path: str, depth: int) -> bool:
        """SearchDepth: 0 = the whole subtree; n = up to n levels below the starting node."""
        if depth == 0:
            return True
        rest = path[len(start):].strip("/")
        return rest == "" or len(rest.split("/")) <= depth

    # ---- CMS actions -----------------------------------------------------------------------------------------
    def get_supported_parameters(self, starting_node: str, depth: int) -> str:
        self.check_syntax(starting_node)
        start = structure_of(starting_node)
        paths = self.structure_paths()
        if start != "/" and start not in paths:  # "/" is the root of every mounted model
            raise fault(NO_SUCH_NAME, starting_node)
        if not start.endswith("/"):
            selected = [start]
        else:
            selected = [p for p in paths if p.startswith(start) and p != start and self._depth_ok(start, p, depth)]
        return build_list("StructurePathList", "StructurePath", selected)

    def get_instances(self, starting_node: str, depth: int) -> str:
        self.check_syntax(starting_node)
        if not starting_node.endswith("/"):
            raise fault(INVALID_ARGUMENT_SYNTAX, "StartingNode must be a partial path ending with '/'")
        if not any(p.startswith(starting_node) for p in self.params) and not self._is_known_object(starting_node):
            raise fault(NO_SUCH_NAME, starting_node)
        instances: set[str] = set()
        for path in self.params:
            if not path.startswith(starting_node):
                continue
            for m in re.finditer(r"/\d+/", path):
                instance = path[: m.end()]
                if len(instance) > len(starting_node) and self._depth_ok(starting_node, instance, depth):
                    instances.add(instance)
        return build_list("InstancePathList", "InstancePath", sorted(instances, key=natural_key))

    def get_values(self, content_path_list: str) -> str:
        paths = parse_list(content_path_list, "ContentPathList", "ContentPath")
        if not paths:
            raise fault(INVALID_XML_ARGUMENT, "empty ContentPathList")
        selected: list[str] = []
        for path in paths:
            for leaf in self.match(path):
                if leaf not in selected:
                    selected.append(leaf)
        return build_values([(p, self.params[p].value) for p in selected])

    def get_selected_values(self, starting_node: str, filter_text: str) -> str:
        """StartingNode is a structure path of a table row (`…/#/`); Filter is `Name = "v" [AND …]`."""
        self.check_syntax(starting_node)
        if structure_of(starting_node) not in self.structure_paths():
            raise fault(NO_SUCH_NAME, starting_node)
        conditions: list[tuple[str, str]] = []
        if filter_text.strip():
            for term in re.split(r"\s+AND\s+", filter_text.strip()):
                m = re.fullmatch(r'\s*([A-Za-z0-9_/#.]+)\s*=\s*"([^"]*)"\s*', term)
                if not m:
                    raise fault(INVALID_ARGUMENT_SYNTAX, f"bad filter term {term!r}")
                name = m.group(1)
                if name.startswith("/"):  # absolute: make it relative to the row
                    name = structure_of(name)[len(structure_of(starting_node)):]
                conditions.append((name, m.group(2)))
        leaves = self.match(starting_node if starting_node.endswith("/") else starting_node + "/")
        rows: dict[str, list[str]] = {}
        for leaf in leaves:
            row = leaf[: leaf.rfind("/") + 1]
            rows.setdefault(row, []).append(leaf)
        result: list[tuple[str, str]] = []
        for row, row_leaves in rows.items():
            if all((row + name) in self.params and self.params[row + name].value == value for name, value in conditions):
                result.extend((leaf, self.params[leaf].value) for leaf in row_leaves)
        return build_values(result)

    def validate(self, path: str, value: str, *, local: bool = False) -> str:
        """The canonical value to store, or a 703/704/705/706 fault. `local` = the device's own change (RO allowed)."""
        self.check_syntax(path)
        if path.endswith("/") or "#" in path:
            raise fault(INVALID_ARGUMENT_SYNTAX, f"{path} is not a parameter instance path")
        node = self.params.get(path)
        if node is None:
            raise fault(NO_SUCH_NAME, path)
        definition = node.definition
        if not definition.writable and not local:
            raise fault(READ_ONLY_VIOLATION, path)
        text = value.strip()
        if definition.type == "boolean":
            if text.lower() not in ("0", "1", "true", "false"):
                raise fault(INVALID_VALUE_TYPE, f"{path} expects a boolean")
            return text.lower()
        if definition.type in ("unsignedInt", "int"):
            if not re.fullmatch(r"-?\d+" if definition.type == "int" else r"\d+", text):
                raise fault(INVALID_VALUE_TYPE, f"{path} expects {definition.type}")
            number = int(text)
            if number > 4294967295 or (definition.minimum is not None and number < definition.minimum) or \
                    (definition.maximum is not None and number > definition.maximum):
                raise fault(INVALID_VALUE, f"{path} out of range")
            return str(number)
        if definition.type == "dateTime":
            try:
                datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise fault(INVALID_VALUE_TYPE, f"{path} expects dateTime") from None
            return text
        if definition.enum and value not in definition.enum:
            raise fault(INVALID_VALUE, f"{path} must be one of {', '.join(definition.enum)}")
        if definition.max_length is not None and len(value) > definition.max_length:
            raise fault(INVALID_VALUE, f"{path} longer than {definition.max_length}")
        return value

    def set_values(self, parameter_value_list: str, *, local: bool = False) -> list[tuple[str, str]]:
        """Atomic: every pair is checked before any is applied. Returns the (path, value) pairs that changed."""
        pairs = parse_values(parameter_value_list)
        if not pairs:
            raise fault(INVALID_XML_ARGUMENT, "empty ParameterValueList")
        canonical = [(path, self.validate(path, value, local=local)) for path, value in pairs]
        changed = []
        for path, value in canonical:
            if self.params[path].value != value:
                self.params[path].value = value
                changed.append((path, value))
        return changed

    def create_instance(self, multi_instance_name: str, children: str) -> str:
        self.check_syntax(multi_instance_name)
        table_path = multi_instance_name
        if table_path.endswith("#/"):
            table_path = table_path[:-2]
        if not table_path.endswith("/"):
            table_path += "/"
        if "#" in table_path:
            raise fault(INVALID_ARGUMENT_SYNTAX, "the parent instances must be concrete")
        table = self._table_def(table_path)
        if table is None or table_path not in self.next_instance:
            raise fault(NO_SUCH_NAME, multi_instance_name)
        if not table.writable:
            raise fault(READ_ONLY_VIOLATION, f"{multi_instance_name} does not allow CreateInstance")
        initial = parse_values(children, root="ParameterInitialValueList") if children.strip() else []
        values: dict[str, str] = {}
        for path, value in initial:
            name = path.rsplit("/", 1)[-1] if "/" in path else path
            if name not in table.params:
                raise fault(NO_SUCH_NAME, path)
            if not table.params[name].writable:
                raise fault(READ_ONLY_VIOLATION, path)
            values[name] = value
        # Check the values with the same rules as SetValues on a scratch copy, then add for real.
        scratch = copy.deepcopy(self)
        instance = scratch._add_instance(table_path, table)
        for name, value in values.items():
            scratch.validate(instance + name, value)
        instance = self._add_instance(table_path, table)
        for name, value in values.items():
            self.params[instance + name].value = self.validate(instance + name, value)
        self._refresh_counts()
        return instance

    def delete_instance(self, instance_identifier: str) -> None:
        self.check_syntax(instance_identifier)
        instance = instance_identifier if instance_identifier.endswith("/") else instance_identifier + "/"
        if not re.search(r"/\d+/$", instance):
            raise fault(INVALID_ARGUMENT_SYNTAX, f"{instance_identifier} is not an instance path")
        if not any(p.startswith(instance) for p in self.params):
            raise fault(NO_SUCH_NAME, instance_identifier)
        table = self._table_def(re.sub(r"\d+/$", "", instance))
        if table is None or not table.writable:
            raise fault(READ_ONLY_VIOLATION, f"{instance_identifier} cannot be deleted")
        self._delete_instance(instance)
        self._refresh_counts()

    def get_attributes(self, node_attribute_path_list: str) -> str:
        paths = parse_list(node_attribute_path_list, "NodeAttributePathList", "NodeAttributePath")
        if not paths:
            raise fault(INVALID_XML_ARGUMENT, "empty NodeAttributePathList")
        root = new_root("NodeAttributeValueList")
        for path in paths:
            for leaf in self.match(path):
                node = self.params[leaf]
                element = ET.SubElement(root, "Node")
                ET.SubElement(element, "NodeAttributePath").text = leaf
                ET.SubElement(element, "Access").text = "readWrite" if node.definition.writable else "readOnly"
                ET.SubElement(element, "EventOnChange").text = "1" if node.event_on_change else "0"
        return serialize(root)

    def set_attributes(self, node_attribute_value_list: str) -> list[str]:
        root = parse_document(node_attribute_value_list, "NodeAttributeValueList")
        changes: list[tuple[list[str], bool | None]] = []
        for element in root:
            if local_name(element.tag) != "Node":
                raise fault(INVALID_XML_ARGUMENT, f"unexpected element {local_name(element.tag)}")
            path = None
            event: bool | None = None
            for child in element:
                name, text = local_name(child.tag), (child.text or "").strip()
                if name == "NodeAttributePath":
                    path = text
                elif name == "EventOnChange":
                    if text not in ("0", "1", "true", "false"):
                        raise fault(INVALID_VALUE_TYPE, "EventOnChange expects a boolean")
                    event = text in ("1", "true")
                elif name == "Access":
                    raise fault(READ_ONLY_VIOLATION, "Access is read-only")
                else:
                    raise fault(NO_SUCH_NAME, f"unknown attribute {name}")
            if path is None:
                raise fault(INVALID_XML_ARGUMENT, "Node without NodeAttributePath")
            changes.append((self.match(path), event))
        touched: list[str] = []
        for leaves, event in changes:
            if event is None:
                continue
            for leaf in leaves:
                self.params[leaf].event_on_change = event
                touched.append(leaf)
        return touched

    def supported_data_models(self, base_url: str) -> str:
        root = new_root("SupportedDataModels")
        for uri, location, url, description in (
            ("urn:upnp-org:smgt:1", "/UPnP/DM/", None, "UPnP DM DeviceInfo"),
            ("urn:broadband-forum-org:tr-181-2-19-1", "/BBF/", f"{base_url}/tr-181-2-19-1.xml",
             "TR-181 Device:2 subset (DeviceInfo, Time, IP, NAT)"),
        ):
            tree = ET.SubElement(root, "SubTree")
            ET.SubElement(tree, "URI").text = uri
            ET.SubElement(tree, "Location").text = location
            if url:
                ET.SubElement(tree, "URL").text = url
            ET.SubElement(tree, "Description").text = description
        return serialize(root)


# ---- XML argument documents ---------------------------------------------------------------------------------------
def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def natural_key(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in path.split("/")]


def new_root(name: str) -> ET.Element:
    root = ET.Element(f"{{{CMS_NS}}}{name}")
    root.set(f"{{{XSI_NS}}}schemaLocation", CMS_SCHEMA_LOCATION)
    return root


def serialize(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def build_list(root_name: str, child: str, items: list[str]) -> str:
    root = new_root(root_name)
    for item in items:
        ET.SubElement(root, child).text = item
    return serialize(root)


def build_values(pairs: list[tuple[str, str]], root_name: str = "ParameterValueList") -> str:
    root = new_root(root_name)
    for path, value in pairs:
        parameter = ET.SubElement(root, "Parameter")
        ET.SubElement(parameter, "ParameterPath").text = path
        ET.SubElement(parameter, "Value").text = value
    return serialize(root)


def parse_document(text: str, root_name: str) -> ET.Element:
    """Parse an XML argument (already unescaped by SOAP) with DTDs and entities forbidden; match by local name."""
    try:
        root = DET.fromstring(text.strip().encode(), forbid_dtd=True)
    except Exception as error:  # ParseError and every defusedxml refusal alike
        raise fault(INVALID_XML_ARGUMENT, f"{type(error).__name__}: {error}") from None
    if local_name(root.tag) != root_name:
        raise fault(INVALID_XML_ARGUMENT, f"expected {root_name}, got {local_name(root.tag)}")
    return root


def parse_list(text: str, root_name: str, child: str) -> list[str]:
    root = parse_document(text, root_name)
    items = []
    for element in root:
        if local_name(element.tag) != child:
            raise fault(INVALID_XML_ARGUMENT, f"unexpected element {local_name(element.tag)}")
        items.append((element.text or "").strip())
    return items


def parse_values(text: str, root: str = "ParameterValueList") -> list[tuple[str, str]]:
    document = parse_document(text, root)
    pairs = []
    for parameter in document:
        if local_name(parameter.tag) != "Parameter":
            raise fault(INVALID_XML_ARGUMENT, f"unexpected element {local_name(parameter.tag)}")
        fields = {local_name(c.tag): (c.text or "") for c in parameter}
        if "ParameterPath" not in fields or "Value" not in fields:
            raise fault(INVALID_XML_ARGUMENT, "Parameter needs ParameterPath and Value")
        pairs.append((fields["ParameterPath"].strip(), fields["Value"]))
    return pairs
