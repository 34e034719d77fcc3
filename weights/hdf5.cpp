// RAII over the HDF5 C API; see hdf5.hpp. Every HDF5 call is checked and a
// failure becomes nst::FileError with the file, the object and HDF5's reason.
#include "weights/hdf5.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "nst/error.hpp"
#include "weights/global_heap.hpp"

namespace nst::h5 {
namespace {

// HDF5's status in a message, so "cannot ..." reads as "cannot ...: why".
std::string with_detail(const std::string& what) {
  const std::string detail = last_error_detail();
  return detail.empty() ? what : what + " (" + detail + ")";
}

herr_t collect_description(unsigned /*n*/, const H5E_error2_t* err, void* out) {
  if (err->desc && *err->desc) static_cast<std::vector<std::string>*>(out)->push_back(err->desc);
  return 0;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string::npos ? path.size() : slash;
    if (end > start) parts.push_back(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

// Frees the strings HDF5 allocated for a variable-length read, even when
// copying them out throws.
struct VlenReclaim {
  hid_t type, space;
  void* buf;
  ~VlenReclaim() {
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
  }
};

// Why `path` cannot be opened before HDF5 is asked, in words a user reads:
// "" when it looks openable.
std::string precheck_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT ? "no such file" : std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (::access(path.c_str(), R_OK) != 0) return std::strerror(errno);
  if (st.st_size == 0) return "the file is empty";
  return "";
}

htri_t is_hdf5(const std::string& path) {
#if H5_VERSION_GE(1, 12, 0)
  return H5Fis_accessible(path.c_str(), H5P_DEFAULT);
#else
  return H5Fis_hdf5(path.c_str());
#endif
}

}  // namespace

// --- Handle, errors, types ---------------------------------------------

std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = H5I_INVALID_HID;
}

ErrorSilencer::ErrorSilencer() {
  H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

ErrorSilencer::~ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }

std::string last_error_detail() {
  std::vector<std::string> descriptions;
  // Downward: from the API call to the innermost routine, which says most.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_description, &descriptions);
  H5Eclear2(H5E_DEFAULT);
  return descriptions.empty() ? "" : descriptions.back();
}

std::string describe_type(hid_t type) {
  const size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "vlen";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_BITFIELD:
      return "bitfield";
    case H5T_REFERENCE:
      return "reference";
    default:
      return "unknown type";
  }
}

std::string shape_string(const std::vector<hsize_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

// --- Dataset --------------------------------------------------------------

void Dataset::fail(const std::string& what) const {
  throw FileError(with_detail("HDF5 file '" + file_ + "': " + what + " dataset '" + path_ + "'"));
}

std::vector<hsize_t> Dataset::shape() const {
  Handle space(H5Dget_space(h_.get()), H5Sclose);
  const int rank = space.get() < 0 ? -1 : H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail("cannot read the shape of");
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

std::string Dataset::dtype() const {
  Handle type(H5Dget_type(h_.get()), H5Tclose);
  if (type.get() < 0) fail("cannot read the type of");
  return describe_type(type.get());
}

bool Dataset::is_float32() const { return dtype() == "float32"; }

std::vector<float> Dataset::read_floats() const {
  size_t n = 1;
  for (hsize_t d : shape()) n *= d;
  std::vector<float> data(n);
  if (n && H5Dread(h_.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0) fail("cannot read");
  return data;
}

void Dataset::write_floats(const std::vector<float>& data) {
  size_t n = 1;
  for (hsize_t d : shape()) n *= d;
  if (data.size() != n)
    fail("got " + std::to_string(data.size()) + " values for " + std::to_string(n) + " elements of");
  if (n && H5Dwrite(h_.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0) fail("cannot write");
}

// --- Group ----------------------------------------------------------------

void Group::fail(const std::string& what) const { throw FileError(with_detail("HDF5 file '" + file_ + "': " + what)); }

std::string Group::child_path(const std::string& name) const { return path_ == "/" ? "/" + name : path_ + "/" + name; }

bool Group::has(const std::string& name) const {
  // H5Lexists fails (rather than saying no) when a parent is missing, so
  // each component is checked in turn.
  std::string prefix;
  for (const std::string& part : split_path(name)) {
    prefix += (prefix.empty() ? "" : "/") + part;
    if (H5Lexists(h_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return !prefix.empty();
}

bool Group::has_group(const std::string& name) const {
  if (!has(name)) return false;
  Handle obj(H5Oopen(h_.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
  return obj.get() >= 0 && H5Iget_type(obj.get()) == H5I_GROUP;
}

std::vector<std::string> Group::children() const {
  H5G_info_t info;
  if (H5Gget_info(h_.get(), &info) < 0) fail("cannot list group '" + path_ + "'");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(h_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) fail("cannot read link " + std::to_string(i) + " of group '" + path_ + "'");
    std::string name(static_cast<size_t>(n) + 1, '\0');
    if (H5Lget_name_by_idx(h_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, &name[0], name.size(), H5P_DEFAULT) < 0)
      fail("cannot read link " + std::to_string(i) + " of group '" + path_ + "'");
    name.resize(static_cast<size_t>(n));
    names.push_back(std::move(name));
  }
  return names;
}

Group Group::open_group(const std::string& name) const {
  Handle g(H5Gopen2(h_.get(), name.c_str(), H5P_DEFAULT), H5Gclose);
  if (g.get() < 0) fail("cannot open group '" + child_path(name) + "'");
  return Group(std::move(g), file_, child_path(name));
}

Group Group::duplicate() const {
  Handle g(H5Gopen2(h_.get(), ".", H5P_DEFAULT), H5Gclose);
  if (g.get() < 0) fail("cannot reopen group '" + path_ + "'");
  return Group(std::move(g), file_, path_);
}

Group Group::create_group(const std::string& name) {
  // No creation times: the same weights give a byte-identical file.
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), 0);
  Handle g(H5Gcreate2(h_.get(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
  if (g.get() < 0) fail("cannot create group '" + child_path(name) + "'");
  return Group(std::move(g), file_, child_path(name));
}

Dataset Group::open_dataset(const std::string& name) const {
  Handle d(H5Dopen2(h_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (d.get() < 0) fail("cannot open dataset '" + child_path(name) + "'");
  return Dataset(std::move(d), file_, child_path(name));
}

Dataset Group::write_dataset(const std::string& name, const std::vector<hsize_t>& shape, const std::vector<float>& data,
                             hid_t file_type) {
  // Parent groups of "a/b:0" (Keras 2 names) are made here rather than by
  // HDF5's intermediate-group option, so they too carry no timestamps.
  const std::vector<std::string> parts = split_path(name);
  std::string parent;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    parent += (parent.empty() ? "" : "/") + parts[i];
    if (!has(parent)) create_group(parent);
  }
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), 0);
  Handle space(
      shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr),
      H5Sclose);
  Handle d(H5Dcreate2(h_.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (d.get() < 0) fail("cannot create dataset '" + child_path(name) + "'");
  Dataset ds(std::move(d), file_, child_path(name));
  ds.write_floats(data);
  return ds;
}

void Group::remove(const std::string& name) {
  if (H5Ldelete(h_.get(), name.c_str(), H5P_DEFAULT) < 0) fail("cannot remove '" + child_path(name) + "'");
}

bool Group::has_attribute(const std::string& name) const { return H5Aexists(h_.get(), name.c_str()) > 0; }

std::vector<std::string> Group::read_strings(const std::string& name) const {
  const std::string what = "attribute '" + name + "' of '" + path_ + "'";
  Handle attr(H5Aopen(h_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  if (attr.get() < 0) fail("cannot open " + what);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const hssize_t n = space.get() < 0 ? -1 : H5Sget_simple_extent_npoints(space.get());
  if (type.get() < 0 || n < 0) fail("cannot read the type of " + what);
  if (n == 0) return {};
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw FileError("HDF5 file '" + file_ + "': " + what + " holds " + describe_type(type.get()) +
                    ", expected strings");

  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) fail("cannot read " + what);
    VlenReclaim reclaim{mem.get(), space.get(), ptrs.data()};
    for (const char* p : ptrs) out.emplace_back(p ? p : "");
  } else {
    // Fixed length: n slots of `size` bytes, NUL- or space-padded.
    const size_t size = H5Tget_size(type.get());
    std::vector<char> buf(static_cast<size_t>(n) * size);
    if (H5Aread(attr.get(), type.get(), buf.data()) < 0) fail("cannot read " + what);
    const bool spaces = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
    for (hssize_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * size, size);
      s.resize(std::strlen(s.c_str()));  // up to the first NUL
      if (spaces) s.erase(s.find_last_not_of(' ') + 1);
      out.push_back(std::move(s));
    }
  }
  return out;
}

void Group::write_string_attribute(const std::string& name, const std::vector<std::string>& values, bool scalar,
                                   StringKind kind) {
  if (has_attribute(name)) remove_attribute(name);  // as h5py: assignment replaces
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  std::vector<char> fixed;
  std::vector<const char*> ptrs;
  if (kind == StringKind::Variable) {
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    for (const std::string& v : values) ptrs.push_back(v.c_str());
  } else {
    // numpy's "S<n>": as long as the longest string, NUL-padded, ASCII.
    size_t size = 1;
    for (const std::string& v : values) size = std::max(size, v.size());
    H5Tset_size(type.get(), size);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    fixed.assign(values.size() * size, '\0');
    for (size_t i = 0; i < values.size(); ++i) std::memcpy(fixed.data() + i * size, values[i].data(), values[i].size());
  }
  const hsize_t n = values.size();
  Handle space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle attr(H5Acreate2(h_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (attr.get() < 0) fail("cannot create attribute '" + name + "' of '" + path_ + "'");
  const void* data = kind == StringKind::Variable ? static_cast<const void*>(ptrs.data()) : fixed.data();
  if (n && H5Awrite(attr.get(), type.get(), data) < 0) fail("cannot write attribute '" + name + "' of '" + path_ + "'");
}

void Group::write_strings(const std::string& name, const std::vector<std::string>& values, StringKind kind) {
  write_string_attribute(name, values, false, kind);
}

void Group::write_string(const std::string& name, const std::string& value, StringKind kind) {
  write_string_attribute(name, {value}, true, kind);
}

void Group::write_empty_array(const std::string& name) {
  if (has_attribute(name)) remove_attribute(name);
  const hsize_t zero = 0;
  Handle space(H5Screate_simple(1, &zero, nullptr), H5Sclose);
  Handle attr(H5Acreate2(h_.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (attr.get() < 0) fail("cannot create attribute '" + name + "' of '" + path_ + "'");
}

void Group::remove_attribute(const std::string& name) {
  if (H5Adelete(h_.get(), name.c_str()) < 0) fail("cannot remove attribute '" + name + "' of '" + path_ + "'");
}

// --- File -----------------------------------------------------------------

File::File(std::unique_ptr<ErrorSilencer> quiet, Handle file, std::string path)
    : quiet_(std::move(quiet)), file_(std::move(file)), path_(std::move(path)), root_(open_root(file_, path_)) {}

Group File::open_root(const Handle& file, const std::string& path) {
  Handle root(H5Gopen2(file.get(), "/", H5P_DEFAULT), H5Gclose);
  if (root.get() < 0) throw FileError(with_detail("HDF5 file '" + path + "': cannot open the root group"));
  return Group(std::move(root), path, "/");
}

File File::open(const std::string& path, Mode mode, const std::string& kind) {
  const std::string prefix = "cannot open " + kind + " '" + path + "': ";
  if (const std::string why = precheck_file(path); !why.empty()) throw FileError(prefix + why);
  auto quiet = std::make_unique<ErrorSilencer>();
  const htri_t hdf5 = is_hdf5(path);
  if (hdf5 == 0) throw FileError(prefix + "not an HDF5 file (no HDF5 signature found)");
  if (const std::string why = check_global_heaps_in_file(path); !why.empty())
    throw FileError(prefix + "the file is corrupt: " + why);
  const unsigned flags = mode == Mode::ReadOnly ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
  Handle h(hdf5 < 0 ? H5I_INVALID_HID : H5Fopen(path.c_str(), flags, H5P_DEFAULT), H5Fclose);
  if (h.get() < 0) {
    const std::string detail = last_error_detail();
    if (detail.find("truncated") != std::string::npos)
      throw FileError(prefix + "the file is truncated, download or write it again (HDF5: " + detail + ")");
    throw FileError(prefix + (detail.empty() ? "HDF5 could not open it" : detail));
  }
  return File(std::move(quiet), std::move(h), path);
}

File File::create(const std::string& path) {
  auto quiet = std::make_unique<ErrorSilencer>();
  Handle h(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (h.get() < 0) throw FileError(with_detail("cannot create HDF5 file '" + path + "'"));
  return File(std::move(quiet), std::move(h), path);
}

}  // namespace nst::h5
