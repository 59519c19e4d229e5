/// The package's version: written into every run record, adapter file and feature-cache
/// manifest. The one place it is written.
public let upadapterVersion = "0.2.0"
