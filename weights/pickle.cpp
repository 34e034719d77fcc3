#include "weights/pickle.hpp"

#include <cstdio>
#include <cstring>

#include "nst/error.hpp"

namespace nst::pickle {
namespace {

// The opcodes torch.save's pickles use (Python's pickletools names them).
enum Op : uint8_t {
  MARK = '(',
  STOP = '.',
  NONE = 'N',
  BININT = 'J',
  BININT1 = 'K',
  BININT2 = 'M',
  BINFLOAT = 'G',
  BINSTRING = 'T',        // Python 2 str (old legacy files)
  SHORT_BINSTRING = 'U',  // Python 2 str
  BINUNICODE = 'X',
  BINBYTES = 'B',
  SHORT_BINBYTES = 'C',
  EMPTY_LIST = ']',
  EMPTY_DICT = '}',
  EMPTY_TUPLE = ')',
  TUPLE = 't',
  LIST = 'l',
  DICT = 'd',
  APPEND = 'a',
  APPENDS = 'e',
  SETITEM = 's',
  SETITEMS = 'u',
  BINPUT = 'q',
  LONG_BINPUT = 'r',
  BINGET = 'h',
  LONG_BINGET = 'j',
  GLOBAL = 'c',
  REDUCE = 'R',
  BINPERSID = 'Q',
  BUILD = 'b',
  PROTO = 0x80,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  SHORT_BINUNICODE = 0x8c,
  BINUNICODE8 = 0x8d,
  STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94,
  FRAME = 0x95,
};

// "'X' (0x58)" or "0x95": how an opcode byte reads in a message.
std::string opcode_string(uint8_t op) {
  char buf[16];
  if (op >= 0x20 && op < 0x7f)
    std::snprintf(buf, sizeof buf, "'%c' (0x%02x)", op, op);
  else
    std::snprintf(buf, sizeof buf, "0x%02x", op);
  return buf;
}

}  // namespace

std::string kind_name(const Value& v) {
  switch (v.kind) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::BigInt: return "int (more than 64 bits)";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::Bytes: return "bytes";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Global: return v.s;
    case Value::Kind::Object: return "object";
  }
  return "?";
}

Unpickler::Unpickler(const uint8_t* data, size_t size, size_t offset, std::string file, std::string what,
                     const Globals& globals, PersistentLoad persistent_load)
    : data_(data),
      size_(size),
      pos_(offset),
      file_(std::move(file)),
      what_(std::move(what)),
      globals_(globals),
      persistent_load_(std::move(persistent_load)) {}

void Unpickler::fail(const std::string& message) const {
  throw FileError(file_ + ": " + what_ + ": " + message + " (at offset " + std::to_string(op_pos_) + ", opcode " +
                  opcode_string(op_) + ")");
}

Value* Unpickler::make(Value::Kind kind) {
  arena_.emplace_back();
  arena_.back().kind = kind;
  return &arena_.back();
}

const Value* Unpickler::make_object(std::shared_ptr<const pickle::Object> object) {
  Value* v = make(Value::Kind::Object);
  v->object = std::move(object);
  return v;
}

// --- reading the stream -----------------------------------------------------

uint8_t Unpickler::read_byte() { return *read_bytes(1); }

const uint8_t* Unpickler::read_bytes(uint64_t n) {
  if (n > size_ - pos_)
    fail("truncated: needs " + std::to_string(n) + " more byte(s), the input has " + std::to_string(size_ - pos_));
  const uint8_t* p = data_ + pos_;
  pos_ += static_cast<size_t>(n);
  return p;
}

uint64_t Unpickler::read_uint(int bytes) {
  const uint8_t* p = read_bytes(static_cast<uint64_t>(bytes));
  uint64_t v = 0;
  for (int i = bytes; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

std::string Unpickler::read_line() {
  const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
  if (!nl) fail("truncated: a text argument has no end of line");
  const size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos_);
  std::string line(reinterpret_cast<const char*>(read_bytes(n)), n);
  ++pos_;  // the '\n'
  return line;
}

// --- the stack --------------------------------------------------------------

void Unpickler::push(const Value* v) { stack_.push_back(v); }

const Value* Unpickler::pop() {
  if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
  const Value* v = stack_.back();
  stack_.pop_back();
  return v;
}

const Value* Unpickler::top() const {
  if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
  return stack_.back();
}

size_t Unpickler::pop_mark() {
  if (marks_.empty()) fail("no MARK to pop to");
  const size_t m = marks_.back();
  marks_.pop_back();
  return m;
}

Items Unpickler::pop_to_mark() {
  const size_t m = pop_mark();
  Items items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
  stack_.resize(m);
  return items;
}

// The container on top of the stack, to be changed in place. Values made by
// the stream are in the arena; only those are ever mutated.
Value* Unpickler::mutable_top(Value::Kind kind, const char* opcode) {
  const Value* v = top();
  if (v->kind != kind) {
    Value wanted;
    wanted.kind = kind;
    fail(std::string(opcode) + " on a " + kind_name(*v) + ", expected a " + kind_name(wanted));
  }
  return const_cast<Value*>(v);
}

void Unpickler::memo_put(uint64_t index) { memo_[index] = top(); }

const Value* Unpickler::memo_get(uint64_t index) {
  const auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
  return it->second;
}

// --- opcodes that build values ----------------------------------------------

void Unpickler::push_int(int64_t v) {
  Value* x = make(Value::Kind::Int);
  x->i = v;
  push(x);
}

void Unpickler::push_string(Value::Kind kind, uint64_t length) {
  Value* x = make(kind);
  const uint8_t* p = read_bytes(length);  // checked against the input before anything is allocated
  x->s.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
  push(x);
}

void Unpickler::push_big_int(uint64_t length) {
  const uint8_t* p = read_bytes(length);
  if (length <= 8) {
    uint64_t u = 0;
    for (uint64_t i = length; i-- > 0;) u = (u << 8) | p[i];
    if (length > 0 && length < 8 && (p[length - 1] & 0x80)) u |= ~uint64_t{0} << (8 * length);  // sign-extend
    push_int(static_cast<int64_t>(u));
    return;
  }
  Value* x = make(Value::Kind::BigInt);  // e.g. the legacy format's 80-bit magic number
  x->s.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
  push(x);
}

void Unpickler::push_tuple(size_t n) {
  Value* t = make(Value::Kind::Tuple);
  t->items.resize(n);
  for (size_t i = n; i-- > 0;) t->items[i] = pop();
  push(t);
}

// GLOBAL and STACK_GLOBAL: only names in the table; nothing is imported.
void Unpickler::do_global() {
  std::string name;
  if (op_ == GLOBAL) {
    const std::string module = read_line();
    name = module + "." + read_line();
  } else {
    const Value* n = pop();
    const Value* m = pop();
    if (m->kind != Value::Kind::String || n->kind != Value::Kind::String) fail("STACK_GLOBAL needs two strings");
    name = m->s + "." + n->s;
  }
  if (!globals_.count(name)) fail("global '" + name + "' is not allowed (only tensors in dicts are read)");
  auto& v = global_values_[name];
  if (!v) {
    Value* g = make(Value::Kind::Global);
    g->s = name;
    v = g;
  }
  push(v);
}

void Unpickler::do_reduce() {
  const Value* args = pop();
  const Value* callable = pop();
  if (callable->kind != Value::Kind::Global) fail("REDUCE calls a " + kind_name(*callable) + ", not an allowed global");
  if (args->kind != Value::Kind::Tuple) fail("REDUCE on " + callable->s + " with a " + kind_name(*args) + " of arguments");
  const Reduce& reduce = globals_.at(callable->s);
  if (!reduce) fail(callable->s + " is allowed as a value, not as a call");
  push(reduce(*this, args->items));
}

void Unpickler::do_persid() {
  const Value* pid = pop();
  if (!persistent_load_) fail("a persistent id where none is expected");
  push(persistent_load_(*this, *pid));
}

void Unpickler::do_setitems(size_t first) {
  if ((stack_.size() - first) % 2) fail("SETITEMS with an odd number of items");
  const Items kv(stack_.begin() + static_cast<std::ptrdiff_t>(first), stack_.end());
  stack_.resize(first);
  Value* d = mutable_top(Value::Kind::Dict, "SETITEMS");
  for (size_t i = 0; i < kv.size(); i += 2) d->entries.emplace_back(kv[i], kv[i + 1]);
}

// BUILD sets an object's attributes from a state; the state dict's only one
// is `_metadata` (module versions), which nothing here needs, so BUILD is
// accepted on dicts and objects and its state dropped.
void Unpickler::do_build() {
  pop();  // the state
  const Value* target = top();
  if (target->kind != Value::Kind::Dict && target->kind != Value::Kind::Object)
    fail("BUILD on a " + kind_name(*target));
}

bool Unpickler::step() {
  op_pos_ = pos_;
  op_ = read_byte();
  switch (op_) {
    case PROTO: {
      const uint8_t v = read_byte();
      if (v < 2 || v > 5) fail("pickle protocol " + std::to_string(v) + " is not supported (2 to 5 are)");
      break;
    }
    case FRAME: read_uint(8); break;  // a length hint only: frames need no special reading
    case STOP: return false;
    case MARK: marks_.push_back(stack_.size()); break;
    case NONE: push(make(Value::Kind::None)); break;
    case NEWTRUE:
    case NEWFALSE: {
      Value* b = make(Value::Kind::Bool);
      b->i = op_ == NEWTRUE;
      push(b);
      break;
    }
    case BININT1: push_int(static_cast<int64_t>(read_uint(1))); break;
    case BININT2: push_int(static_cast<int64_t>(read_uint(2))); break;
    case BININT: push_int(static_cast<int32_t>(static_cast<uint32_t>(read_uint(4)))); break;
    case LONG1: push_big_int(read_uint(1)); break;
    case BINFLOAT: {
      const uint8_t* p = read_bytes(8);
      uint64_t u = 0;
      for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];  // big-endian
      Value* x = make(Value::Kind::Float);
      std::memcpy(&x->f, &u, sizeof u);
      push(x);
      break;
    }
    case SHORT_BINSTRING: push_string(Value::Kind::String, read_uint(1)); break;
    case BINSTRING: push_string(Value::Kind::String, read_uint(4)); break;
    case SHORT_BINUNICODE: push_string(Value::Kind::String, read_uint(1)); break;
    case BINUNICODE: push_string(Value::Kind::String, read_uint(4)); break;
    case BINUNICODE8: push_string(Value::Kind::String, read_uint(8)); break;
    case SHORT_BINBYTES: push_string(Value::Kind::Bytes, read_uint(1)); break;
    case BINBYTES: push_string(Value::Kind::Bytes, read_uint(4)); break;
    case EMPTY_LIST: push(make(Value::Kind::List)); break;
    case EMPTY_DICT: push(make(Value::Kind::Dict)); break;
    case EMPTY_TUPLE: push_tuple(0); break;
    case TUPLE1: push_tuple(1); break;
    case TUPLE2: push_tuple(2); break;
    case TUPLE3: push_tuple(3); break;
    case TUPLE: {
      Value* t = make(Value::Kind::Tuple);
      t->items = pop_to_mark();
      push(t);
      break;
    }
    case LIST: {
      Value* l = make(Value::Kind::List);
      l->items = pop_to_mark();
      push(l);
      break;
    }
    case DICT: {
      const size_t m = pop_mark();
      // The new dict goes below its items, which are then added to it.
      stack_.insert(stack_.begin() + static_cast<std::ptrdiff_t>(m), make(Value::Kind::Dict));
      do_setitems(m + 1);
      break;
    }
    case APPEND: {
      const Value* v = pop();
      mutable_top(Value::Kind::List, "APPEND")->items.push_back(v);
      break;
    }
    case APPENDS: {
      const Items items = pop_to_mark();
      Value* l = mutable_top(Value::Kind::List, "APPENDS");
      l->items.insert(l->items.end(), items.begin(), items.end());
      break;
    }
    case SETITEM: {
      const Value* v = pop();
      const Value* k = pop();
      mutable_top(Value::Kind::Dict, "SETITEM")->entries.emplace_back(k, v);
      break;
    }
    case SETITEMS: {
      const size_t m = pop_mark();
      do_setitems(m);
      break;
    }
    case BINPUT: memo_put(read_uint(1)); break;
    case LONG_BINPUT: memo_put(read_uint(4)); break;
    case MEMOIZE: memo_put(memo_.size()); break;
    case BINGET: push(memo_get(read_uint(1))); break;
    case LONG_BINGET: push(memo_get(read_uint(4))); break;
    case GLOBAL:
    case STACK_GLOBAL: do_global(); break;
    case REDUCE: do_reduce(); break;
    case BINPERSID: do_persid(); break;
    case BUILD: do_build(); break;
    default: fail("unsupported opcode");
  }
  return true;
}

const Value* Unpickler::load() {
  while (step()) {
  }
  if (!marks_.empty()) fail("STOP inside an unclosed MARK");
  if (stack_.size() != 1) fail("STOP with " + std::to_string(stack_.size()) + " values on the stack, expected 1");
  return stack_.back();
}

}  // namespace nst::pickle
