// Typed exceptions. Every failure names the thing that is wrong (file,
// layer, option, shape) so that a CLI can print e.what() and exit non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace nst {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A user-supplied value is invalid: an option, a shape, a NaN.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file is missing, unreadable, corrupt or of the wrong layout.
class FileError : public Error {
 public:
  using Error::Error;
};

// A device runtime call (CUDA, cuDNN, cuBLAS) failed or no device exists.
class DeviceError : public Error {
 public:
  using Error::Error;
};

// Memory for the buffers of a run could not be allocated (host or device).
// The message says how much was asked and what to lower.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

}  // namespace nst
