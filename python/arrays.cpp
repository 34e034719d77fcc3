#include "arrays.hpp"

#include <climits>
#include <cstring>
#include <vector>

#include "nst/error.hpp"
#include "values.hpp"

namespace nst::python {
namespace {

using AnyArray = nb::ndarray<nb::ro>;

// "uint8", "float32", "bool": numpy's names for DLPack dtypes.
std::string dtype_name(nb::dlpack::dtype t) {
  std::string kind;
  switch (static_cast<nb::dlpack::dtype_code>(t.code)) {
    case nb::dlpack::dtype_code::Int: kind = "int"; break;
    case nb::dlpack::dtype_code::UInt: kind = "uint"; break;
    case nb::dlpack::dtype_code::Float: kind = "float"; break;
    case nb::dlpack::dtype_code::Complex: kind = "complex"; break;
    case nb::dlpack::dtype_code::Bool: return "bool";
    default: kind = "dtype" + std::to_string(t.code) + "_"; break;
  }
  return kind + std::to_string(t.bits);
}

std::string shape_text(const AnyArray& a) {
  std::string out = "(";
  for (size_t i = 0; i < a.ndim(); ++i) out += (i ? ", " : "") + std::to_string(a.shape(i));
  return out + (a.ndim() == 1 ? ",)" : ")");
}

void require_image_layout(const AnyArray& a, const std::string& what) {
  const bool is_uint8 = a.dtype() == nb::dtype<uint8_t>();
  const bool is_hw3 = a.ndim() == 3 && a.shape(2) == 3;
  if (!is_uint8 || !is_hw3) {
    throw InvalidArgument(what + ": expected a uint8 array of shape (H, W, 3), got a " + dtype_name(a.dtype()) +
                          " array of shape " + shape_text(a));
  }
  if (a.shape(0) == 0 || a.shape(1) == 0) throw InvalidArgument(what + ": the image is empty, shape " + shape_text(a));
  if (a.shape(0) > INT_MAX || a.shape(1) > INT_MAX) {
    throw InvalidArgument(what + ": the image is too large, shape " + shape_text(a));
  }
  if (a.device_type() != nb::device::cpu::value) throw InvalidArgument(what + ": the array must be in CPU memory");
}

// Element (y, x, c) lies at data + y*s0 + x*s1 + c*s2 (strides in bytes for
// uint8; negative for reversed views). C-contiguous rows are one memcpy.
void copy_strided(uint8_t* dst, const AnyArray& a) {
  const auto* src = static_cast<const uint8_t*>(a.data());
  const size_t h = a.shape(0), w = a.shape(1);
  const int64_t s0 = a.stride(0), s1 = a.stride(1), s2 = a.stride(2);
  const bool contiguous_rows = s1 == 3 && s2 == 1;
  for (size_t y = 0; y < h; ++y) {
    const uint8_t* row = src + static_cast<int64_t>(y) * s0;
    if (contiguous_rows) {
      std::memcpy(dst + y * w * 3, row, w * 3);
      continue;
    }
    for (size_t x = 0; x < w; ++x) {
      for (size_t c = 0; c < 3; ++c) dst[(y * w + x) * 3 + c] = row[static_cast<int64_t>(x) * s1 + c * s2];
    }
  }
}

}  // namespace

Image image_from_array(nb::handle value, const std::string& what) {
  AnyArray a;
  if (!nb::try_cast(value, a, /*convert=*/false)) {
    throw nb::type_error((what + " expects a numpy array, uint8 of shape (H, W, 3), got " + describe(value)).c_str());
  }
  require_image_layout(a, what);
  Image img;
  img.height = static_cast<int>(a.shape(0));
  img.width = static_cast<int>(a.shape(1));
  img.rgb.resize(img.pixels() * 3);
  copy_strided(img.rgb.data(), a);
  return img;
}

Image mask_from_array(nb::handle value, const std::string& what) {
  AnyArray a;
  if (!nb::try_cast(value, a, /*convert=*/false)) {
    throw nb::type_error((what + " expects a numpy array, uint8 of shape (H, W) or (H, W, 3), got " + describe(value))
                             .c_str());
  }
  if (a.ndim() != 2) return image_from_array(value, what);
  if (a.dtype() != nb::dtype<uint8_t>()) {
    throw InvalidArgument(what + ": expected a uint8 array of shape (H, W) or (H, W, 3), got a " +
                          dtype_name(a.dtype()) + " array of shape " + shape_text(a));
  }
  if (a.shape(0) == 0 || a.shape(1) == 0 || a.shape(0) > INT_MAX || a.shape(1) > INT_MAX) {
    throw InvalidArgument(what + ": the mask is empty or too large, shape " + shape_text(a));
  }
  if (a.device_type() != nb::device::cpu::value) throw InvalidArgument(what + ": the array must be in CPU memory");
  Image img;
  img.height = static_cast<int>(a.shape(0));
  img.width = static_cast<int>(a.shape(1));
  img.rgb.resize(img.pixels() * 3);
  const auto* src = static_cast<const uint8_t*>(a.data());
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t v = src[y * a.stride(0) + x * a.stride(1)];
      for (int c = 0; c < 3; ++c) img.rgb[(static_cast<size_t>(y) * img.width + x) * 3 + c] = v;
    }
  return img;
}

std::vector<Image> masks_from_list(nb::handle value, const std::string& what) {
  if (nb::isinstance<nb::ndarray<>>(value) || PyUnicode_Check(value.ptr())) {
    throw nb::type_error((what + " expects a list of arrays (one mask per style image), got " + describe(value)).c_str());
  }
  std::vector<Image> out;
  for (nb::handle m : nb::iter(value)) out.push_back(mask_from_array(m, what + "[" + std::to_string(out.size()) + "]"));
  return out;
}

ImageArray array_from_image(Image&& image) {
  auto* pixels = new std::vector<uint8_t>(std::move(image.rgb));
  nb::capsule owner(pixels, [](void* p) noexcept { delete static_cast<std::vector<uint8_t>*>(p); });
  return ImageArray(pixels->data(), {static_cast<size_t>(image.height), static_cast<size_t>(image.width), 3}, owner);
}

}  // namespace nst::python
