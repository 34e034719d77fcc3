// stb's implementations, compiled into libnst when NST_STB_FROM_SOURCE is on
// (sanitizer and fuzzing builds): the same Debian headers that libstb.so is
// built from, but instrumented, so ASan and UBSan see the decoders' own
// reads and libFuzzer their branches. Normal builds link libstb instead.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>
