// placeholder
namespace ksimg::matrix {}
