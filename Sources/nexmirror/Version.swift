/// The release version: the one place to bump it. scripts/package names the .deb and the
/// tarball from `nexmirror --version`, and CHANGELOG.md gets a section of the same name.
let nexmirrorVersion = "0.1.0"
