// A small move-only RAII layer over the HDF5 C API: just what reading and
// writing Keras weight files needs (groups, float datasets, string-array
// attributes). Every failure throws nst::FileError naming the file and the
// object, with HDF5's own innermost reason appended; HDF5's automatic error
// printing is switched off while a File is open, so nothing leaks to stderr.
// Groups and datasets are written without timestamps: the same content
// gives a byte-identical file.
// Internal to libnst (and its tests): include <hdf5.h> only through here.
#pragma once
#include <hdf5.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nst::h5 {

// Not every HDF5 build is thread-safe (H5_HAVE_THREADSAFE), so libnst's
// entry points that use HDF5 hold this lock: threads may load weights at once.
std::mutex& library_mutex();

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// Turns HDF5's automatic error printing off for its lifetime and restores
// the caller's handler afterwards (an embedding program keeps its own).
class ErrorSilencer {
 public:
  ErrorSilencer();
  ~ErrorSilencer();
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

// The innermost description on HDF5's error stack (e.g. "truncated file:
// eof = 100, ..."), or "" when the stack is empty; clears the stack.
std::string last_error_detail();

// How string attributes are stored: fixed-length NUL-padded ASCII (old
// h5py, Keras 1) or variable-length UTF-8 (h5py >= 3).
enum class StringKind { Fixed, Variable };

// "float32", "float64", "int32", "uint8", "string", ... for messages.
std::string describe_type(hid_t type);

// Dimensions joined as "3x3x64x128" ("scalar" for rank 0).
std::string shape_string(const std::vector<hsize_t>& shape);

class Dataset {
 public:
  Dataset(Handle h, std::string file, std::string path)
      : h_(std::move(h)), file_(std::move(file)), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  hid_t id() const { return h_.get(); }  // for calls this wrapper lacks
  std::vector<hsize_t> shape() const;
  std::string dtype() const;  // as describe_type
  bool is_float32() const;
  // All elements converted to float (HDF5 converts on read), row-major.
  std::vector<float> read_floats() const;
  // Overwrites all elements; data.size() must equal the element count.
  void write_floats(const std::vector<float>& data);

 private:
  [[noreturn]] void fail(const std::string& what) const;
  Handle h_;
  std::string file_, path_;
};

// A group (or a file's root group): links, attributes and datasets.
class Group {
 public:
  Group(Handle h, std::string file, std::string path)
      : h_(std::move(h)), file_(std::move(file)), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  hid_t id() const { return h_.get(); }  // for calls this wrapper lacks
  // Absolute path of `name` relative to this group, for messages.
  std::string child_path(const std::string& name) const;

  // True if every component of the relative path `name` exists.
  bool has(const std::string& name) const;
  bool has_group(const std::string& name) const;
  // The names of this group's links, in HDF5's name order.
  std::vector<std::string> children() const;
  Group duplicate() const;  // a second handle to this group
  Group open_group(const std::string& name) const;
  Group create_group(const std::string& name);
  Dataset open_dataset(const std::string& name) const;
  // Creates `name` (intermediate groups included) with `shape`, stored as
  // `file_type` (e.g. H5T_IEEE_F64LE to write a wrong-dtype test file),
  // converting from `data`.
  Dataset write_dataset(const std::string& name, const std::vector<hsize_t>& shape, const std::vector<float>& data,
                        hid_t file_type = H5T_IEEE_F32LE);
  void remove(const std::string& name);  // unlinks a group or dataset

  bool has_attribute(const std::string& name) const;
  // A string attribute, scalar or 1-D, fixed or variable length; trailing
  // padding removed. An attribute with no elements reads as {} whatever
  // its type (Keras writes empty weight_names as an empty float64 array).
  std::vector<std::string> read_strings(const std::string& name) const;
  void write_strings(const std::string& name, const std::vector<std::string>& values, StringKind kind);
  void write_string(const std::string& name, const std::string& value, StringKind kind);  // scalar
  void write_empty_array(const std::string& name);                                        // float64, shape (0,)
  void remove_attribute(const std::string& name);

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void write_string_attribute(const std::string& name, const std::vector<std::string>& values, bool scalar,
                              StringKind kind);
  Handle h_;
  std::string file_, path_;
};

class File {
 public:
  enum class Mode { ReadOnly, ReadWrite };
  // Opens an existing file; the message says why not (missing, not HDF5,
  // truncated, ...), as "cannot open <kind> '<path>': <reason>".
  static File open(const std::string& path, Mode mode = Mode::ReadOnly, const std::string& kind = "HDF5 file");
  // Creates (or truncates) `path`.
  static File create(const std::string& path);

  Group& root() { return root_; }
  const Group& root() const { return root_; }
  const std::string& path() const { return path_; }

 private:
  File(std::unique_ptr<ErrorSilencer> quiet, Handle file, std::string path);
  static Group open_root(const Handle& file, const std::string& path);
  // Declared first: errors are silenced before the file opens and until
  // after it closes (members are destroyed in reverse order).
  std::unique_ptr<ErrorSilencer> quiet_;
  Handle file_;
  std::string path_;
  Group root_;
};

}  // namespace nst::h5
