// A restricted pickle reader: the few opcodes torch.save's pickles use
// (protocols 2 to 4), objects built only through a caller-given table of
// allowed globals, and persistent ids handed to a caller-given function.
// Nothing a file names is ever imported or called: a GLOBAL outside the
// table, an opcode outside the list, a truncated or inconsistent stream each
// throw nst::FileError naming the file, the byte offset and the opcode.
//
// Values live in an arena owned by the Unpickler and refer to each other by
// plain pointers, so a hostile stream that builds a cycle (a list appended
// to itself through the memo) neither leaks nor recurses on destruction.
// Internal to libnst (weights/torch_pth.cpp and its tests).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nst::pickle {

// A value the caller's globals build (a tensor, a storage): opaque here.
struct Object {
  virtual ~Object() = default;
};

struct Value;
using Items = std::vector<const Value*>;

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, String, Bytes, Tuple, List, Dict, Global, Object };
  Kind kind = Kind::None;
  int64_t i = 0;        // Bool, Int
  double f = 0;         // Float
  std::string s;        // String, Bytes, BigInt (little-endian two's complement), Global ("module.name")
  Items items;          // Tuple, List
  std::vector<std::pair<const Value*, const Value*>> entries;  // Dict, in insertion order (duplicates kept)
  std::shared_ptr<const pickle::Object> object;                 // Object
};

// "tuple", "int", "collections.OrderedDict", ... for messages.
std::string kind_name(const Value& v);

class Unpickler;

// What a REDUCE on an allowed global does with its argument tuple; it
// rejects arguments it does not expect through Unpickler::fail.
using Reduce = std::function<const Value*(Unpickler&, const Items& args)>;

// An allowed global: "module.name" -> how calling it builds a value. An
// empty Reduce makes the global a plain value (a storage type, passed to
// other calls but not called itself).
using Globals = std::map<std::string, Reduce>;

// BINPERSID: the persistent id (a value of the stream) -> the value it stands for.
using PersistentLoad = std::function<const Value*(Unpickler&, const Value& pid)>;

class Unpickler {
 public:
  // Reads one pickle from data[offset..size). `file` names the input in
  // messages ("weights file 'x.pth'"), `what` the pickle ("data.pkl").
  Unpickler(const uint8_t* data, size_t size, size_t offset, std::string file, std::string what,
            const Globals& globals, PersistentLoad persistent_load = {});

  // Runs to STOP; returns the result (owned by this Unpickler).
  const Value* load();
  // The offset just after the STOP opcode once load() returned.
  size_t end() const { return pos_; }

  // New values in the arena, for Reduce and PersistentLoad functions.
  Value* make(Value::Kind kind);
  const Value* make_object(std::shared_ptr<const pickle::Object> object);

  // Throws nst::FileError "<file>: <what> <message> (at offset N, opcode X)".
  [[noreturn]] void fail(const std::string& message) const;

 private:
  uint8_t read_byte();
  const uint8_t* read_bytes(uint64_t n);
  uint64_t read_uint(int bytes);  // little-endian
  std::string read_line();        // up to '\n', for GLOBAL's text arguments
  size_t pop_mark();
  const Value* pop();
  const Value* top() const;
  Items pop_to_mark();
  Value* mutable_top(Value::Kind kind, const char* opcode);
  void memo_put(uint64_t index);
  const Value* memo_get(uint64_t index);
  void push(const Value* v);
  void push_int(int64_t v);
  void push_string(Value::Kind kind, uint64_t length);
  void push_big_int(uint64_t length);
  void push_tuple(size_t n);
  void do_global();
  void do_reduce();
  void do_persid();
  void do_setitems(size_t first);
  void do_build();
  bool step();  // one opcode; false after STOP

  const uint8_t* data_;
  size_t size_, pos_, op_pos_ = 0;
  uint8_t op_ = 0;
  std::string file_, what_;
  const Globals& globals_;
  PersistentLoad persistent_load_;
  std::deque<Value> arena_;  // deque: pointers stay valid as it grows
  std::vector<const Value*> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, const Value*> memo_;  // a map: an index in the file allocates nothing
  std::map<std::string, const Value*> global_values_;
};

}  // namespace nst::pickle
