// Placeholder so the module links before its first real source lands; remove then.
namespace ksimg::oci {}
