#include "weights/torch_pth.hpp"

#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "nst/error.hpp"
#include "weights/mapped_file.hpp"
#include "weights/pickle.hpp"
#include "weights/zip_archive.hpp"

namespace nst::torch {
namespace {

using pickle::Items;
using pickle::Unpickler;
using pickle::Value;
using Kind = pickle::Value::Kind;

// The storage types a state dict may name, with their element sizes: all
// are accepted as names (so a float64 file is told it is float64), only
// FloatStorage as data.
const std::map<std::string, uint64_t>& storage_types() {
  static const std::map<std::string, uint64_t> types = {
      {"torch.FloatStorage", 4}, {"torch.DoubleStorage", 8}, {"torch.HalfStorage", 2}, {"torch.BFloat16Storage", 2},
      {"torch.LongStorage", 8},  {"torch.IntStorage", 4},    {"torch.ShortStorage", 2}, {"torch.CharStorage", 1},
      {"torch.ByteStorage", 1},  {"torch.BoolStorage", 1}};
  return types;
}
constexpr const char* kFloat32 = "torch.FloatStorage";

// A storage named by a persistent id: its data is found later, by key.
struct Storage : pickle::Object {
  std::string type, key;
  uint64_t numel = 0, element_size = 0;
};

// A tensor as _rebuild_tensor_v2 describes it: a contiguous window of a storage.
struct TensorRef : pickle::Object {
  std::shared_ptr<const Storage> storage;
  uint64_t offset = 0, numel = 1;
  std::vector<int64_t> shape;
};

// The storages the pickle's persistent ids named, by key.
struct Reading {
  std::map<std::string, std::shared_ptr<const Storage>> storages;
};

int64_t as_int(Unpickler& u, const Value* v, const std::string& what) {
  if (v->kind != Kind::Int) u.fail(what + " is a " + pickle::kind_name(*v) + ", expected an int");
  return v->i;
}

std::vector<int64_t> int_tuple(Unpickler& u, const Value* v, const std::string& what) {
  if (v->kind != Kind::Tuple) u.fail(what + " is a " + pickle::kind_name(*v) + ", expected a tuple of ints");
  std::vector<int64_t> out;
  for (const Value* x : v->items) out.push_back(as_int(u, x, what + " element"));
  return out;
}

// A persistent id ('storage', <type>, key, location, numel[, view]): the
// same in both containers (the legacy one adds a view, always None since
// torch 0.4). One storage may back several tensors; its key then recurs.
const Value* load_storage(Reading& r, Unpickler& u, const Value& pid) {
  if (pid.kind != Kind::Tuple || (pid.items.size() != 5 && pid.items.size() != 6))
    u.fail("persistent id is a " + pickle::kind_name(pid) + " of " + std::to_string(pid.items.size()) +
           " item(s), expected ('storage', type, key, location, numel)");
  const Items& t = pid.items;
  if (t[0]->kind != Kind::String || t[0]->s != "storage") u.fail("persistent id does not start with 'storage'");
  if (t[1]->kind != Kind::Global || !storage_types().count(t[1]->s))
    u.fail("persistent id names a " + pickle::kind_name(*t[1]) + ", expected a storage type");
  if (t[2]->kind != Kind::String) u.fail("storage key is a " + pickle::kind_name(*t[2]) + ", expected a str");
  const int64_t numel = as_int(u, t[4], "storage size");
  // 2^56 elements is far beyond any file; the bound keeps numel * element size exact.
  if (numel < 0 || numel > (int64_t{1} << 56)) u.fail("storage '" + t[2]->s + "' has an impossible size");
  if (t.size() == 6 && t[5]->kind != Kind::None) u.fail("storage views (torch < 0.4 files) are not supported");
  auto s = std::make_shared<Storage>();
  s->type = t[1]->s;
  s->key = t[2]->s;
  s->numel = static_cast<uint64_t>(numel);
  s->element_size = storage_types().at(s->type);
  const auto [it, fresh] = r.storages.emplace(s->key, s);
  if (!fresh && (it->second->type != s->type || it->second->numel != s->numel))
    u.fail("storage '" + s->key + "' is named twice with different types or sizes");
  return u.make_object(it->second);
}

// numel of `shape`, or fail when a dimension is negative or the product
// passes 2^62 (no real tensor is that large; the check keeps it exact).
uint64_t checked_numel(Unpickler& u, const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) u.fail("tensor has a negative dimension");
    if (d != 0 && n > (uint64_t{1} << 62) / static_cast<uint64_t>(d)) u.fail("tensor size overflows");
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

// Row-major strides: what every state dict tensor of a conv net has. A
// dimension of size 1 may carry any stride (PyTorch does not care either).
bool contiguous(const std::vector<int64_t>& shape, const std::vector<int64_t>& stride) {
  int64_t expected = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] != 1 && stride[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

// _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
// and the older _rebuild_tensor(storage, offset, size, stride).
const Value* rebuild_tensor(Unpickler& u, const Items& a, size_t min_args, size_t max_args) {
  if (a.size() < min_args || a.size() > max_args)
    u.fail("tensor rebuilt from " + std::to_string(a.size()) + " argument(s), expected " + std::to_string(min_args) +
           (max_args > min_args ? " to " + std::to_string(max_args) : ""));
  const auto storage =
      a[0]->kind == Kind::Object ? std::dynamic_pointer_cast<const Storage>(a[0]->object) : nullptr;
  if (!storage) u.fail("tensor rebuilt from a " + pickle::kind_name(*a[0]) + ", expected a storage");
  auto t = std::make_shared<TensorRef>();
  t->storage = storage;
  const int64_t offset = as_int(u, a[1], "storage offset");
  t->shape = int_tuple(u, a[2], "tensor size");
  const std::vector<int64_t> stride = int_tuple(u, a[3], "tensor stride");
  if (stride.size() != t->shape.size())
    u.fail("tensor has " + std::to_string(t->shape.size()) + " dimension(s) but " + std::to_string(stride.size()) +
           " stride(s)");
  t->numel = checked_numel(u, t->shape);  // first: contiguous() multiplies the sizes too
  if (!contiguous(t->shape, stride)) u.fail("tensor on storage '" + storage->key + "' is not contiguous");
  if (offset < 0 || static_cast<uint64_t>(offset) > storage->numel || t->numel > storage->numel - offset)
    u.fail("tensor of " + std::to_string(t->numel) + " element(s) at offset " + std::to_string(offset) +
           " does not fit its storage '" + storage->key + "' of " + std::to_string(storage->numel));
  t->offset = static_cast<uint64_t>(offset);
  return u.make_object(t);
}

// _rebuild_parameter(data, requires_grad, hooks): the tensor itself.
const Value* rebuild_parameter(Unpickler& u, const Items& a) {
  if (a.size() != 3 || a[0]->kind != Kind::Object || !std::dynamic_pointer_cast<const TensorRef>(a[0]->object))
    u.fail("parameter rebuilt from something other than (tensor, requires_grad, hooks)");
  return a[0];
}

// OrderedDict() (Python 3 pickles add the items with SETITEMS) or
// OrderedDict([[k, v], ...]) (Python 2.7's OrderedDict.__reduce__, which
// older legacy files were written with).
const Value* ordered_dict(Unpickler& u, const Items& a) {
  Value* d = u.make(Kind::Dict);
  if (a.empty()) return d;
  if (a.size() != 1 || a[0]->kind != Kind::List)
    u.fail("OrderedDict called with something other than nothing or a list of (key, value) pairs");
  for (const Value* pair : a[0]->items) {
    if ((pair->kind != Kind::List && pair->kind != Kind::Tuple) || pair->items.size() != 2)
      u.fail("OrderedDict item is a " + pickle::kind_name(*pair) + ", expected a (key, value) pair");
    d->entries.emplace_back(pair->items[0], pair->items[1]);
  }
  return d;
}

// The whitelist: nothing outside it can be named, let alone called.
pickle::Globals state_dict_globals() {
  pickle::Globals g;
  g["collections.OrderedDict"] = ordered_dict;
  g["torch._utils._rebuild_tensor_v2"] = [](Unpickler& u, const Items& a) { return rebuild_tensor(u, a, 6, 7); };
  g["torch._utils._rebuild_tensor"] = [](Unpickler& u, const Items& a) { return rebuild_tensor(u, a, 4, 4); };
  g["torch._utils._rebuild_parameter"] = rebuild_parameter;
  for (const auto& type : storage_types()) g[type.first] = nullptr;  // names, not calls
  return g;
}

// The pickles of the legacy header (magic, protocol, system info) use none.
const pickle::Globals& no_globals() {
  static const pickle::Globals none;
  return none;
}

struct Entry {
  std::string key;
  std::shared_ptr<const TensorRef> tensor;
};

// The unpickled root: a dict of str -> tensor, no key twice.
std::vector<Entry> state_dict_entries(const std::string& name, const Value* root) {
  if (root->kind != Kind::Dict)
    throw FileError(name + ": holds a " + pickle::kind_name(*root) + ", expected a state dict (a dict of tensors)");
  std::vector<Entry> out;
  std::set<std::string> seen;
  for (const auto& [k, v] : root->entries) {
    if (k->kind != Kind::String)
      throw FileError(name + ": state dict has a " + pickle::kind_name(*k) + " key, expected str keys");
    auto t = v->kind == Kind::Object ? std::dynamic_pointer_cast<const TensorRef>(v->object) : nullptr;
    if (!t)
      throw FileError(name + ": state dict entry '" + k->s + "' is a " + pickle::kind_name(*v) +
                      ", expected a tensor");
    if (!seen.insert(k->s).second) throw FileError(name + ": state dict has the key '" + k->s + "' twice");
    out.push_back({k->s, std::move(t)});
  }
  return out;
}

float little_endian_float(const uint8_t* p) {
  const uint32_t u = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The tensors `wanted` picks, copied out of their storages' raw bytes;
// `storage_bytes(key)` gives a storage's data, already checked to hold
// numel * element_size bytes.
template <typename StorageBytes>
StateDict gather(const std::string& name, const std::vector<Entry>& entries, const KeyFilter& wanted,
                 StorageBytes&& storage_bytes) {
  StateDict out;
  for (const Entry& e : entries) {
    if (!wanted(e.key)) continue;
    const Storage& s = *e.tensor->storage;
    if (s.type != kFloat32)
      throw FileError(name + ": tensor '" + e.key + "' is stored as " + s.type + ", expected float32 (" + kFloat32 +
                      ")");
    const uint8_t* bytes = storage_bytes(s.key) + e.tensor->offset * 4;
    Tensor t;
    t.shape = e.tensor->shape;
    t.values.resize(e.tensor->numel);
    for (uint64_t i = 0; i < e.tensor->numel; ++i) t.values[i] = little_endian_float(bytes + 4 * i);
    out.emplace_back(e.key, std::move(t));
  }
  return out;
}

// --- zip --------------------------------------------------------------------

// torch names the records <archive>/...; <archive> is "archive" or the
// saved file's stem, so it is taken from data.pkl's path.
std::string archive_prefix(const ZipArchive& z, const std::string& name) {
  for (const std::string& record : z.names()) {
    const size_t slash = record.find('/');
    if (slash != std::string::npos && record.compare(slash, std::string::npos, "/data.pkl") == 0)
      return record.substr(0, slash + 1);
  }
  throw FileError(name + ": a zip archive without <archive>/data.pkl (not a torch.save file?)");
}

StateDict read_zip(const uint8_t* data, size_t size, const std::string& name, const KeyFilter& wanted) {
  const ZipArchive z(data, size, name);
  const std::string prefix = archive_prefix(z, name);
  if (z.has(prefix + "byteorder")) {
    const std::vector<uint8_t> order = z.read(prefix + "byteorder", z.size_of(prefix + "byteorder"));
    if (std::string(order.begin(), order.end()) != "little")
      throw FileError(name + ": storages are not little-endian (record " + prefix + "byteorder)");
  }
  const std::string pkl_name = prefix + "data.pkl";
  const std::vector<uint8_t> pkl = z.read(pkl_name, z.size_of(pkl_name));
  Reading r;
  const pickle::Globals globals = state_dict_globals();
  Unpickler u(pkl.data(), pkl.size(), 0, name, "record " + pkl_name, globals,
              [&r](Unpickler& up, const Value& pid) { return load_storage(r, up, pid); });
  const std::vector<Entry> entries = state_dict_entries(name, u.load());

  std::map<std::string, std::vector<uint8_t>> loaded;  // only the storages wanted tensors use
  return gather(name, entries, wanted, [&](const std::string& key) {
    auto it = loaded.find(key);
    if (it == loaded.end()) {
      const Storage& s = *r.storages.at(key);
      it = loaded.emplace(key, z.read(prefix + "data/" + key, s.numel * s.element_size)).first;
    }
    return it->second.data();
  });
}

// --- legacy -----------------------------------------------------------------

// The legacy container's fixed header: magic 0x1950a86a20f9469cfc6c (an
// 80-bit int), protocol version 1001, and a system-info dict.
const char kLegacyMagic[] = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

// Reads one header pickle from `offset`; returns where the next begins.
size_t check_legacy_header(const uint8_t* data, size_t size, const std::string& name) {
  Unpickler magic(data, size, 0, name, "legacy magic number", no_globals());
  const Value* m = magic.load();
  if (m->kind != Kind::BigInt || m->s != std::string(kLegacyMagic, 10))
    throw FileError(name + ": not a PyTorch file (wrong magic number)");
  Unpickler protocol(data, size, magic.end(), name, "legacy protocol version", no_globals());
  const Value* p = protocol.load();
  if (p->kind != Kind::Int || p->i != 1001)
    throw FileError(name + ": legacy protocol version is not 1001, the only one torch.save writes");
  Unpickler info(data, size, protocol.end(), name, "legacy system info", no_globals());
  const Value* sys = info.load();
  if (sys->kind != Kind::Dict) throw FileError(name + ": legacy system info is not a dict");
  for (const auto& [k, v] : sys->entries)
    if (k->kind == Kind::String && k->s == "little_endian" && !(v->kind == Kind::Bool && v->i))
      throw FileError(name + ": storages are not little-endian (legacy system info)");
  return info.end();
}

// After the pickles: for each key of the key list, an int64 element count
// and the storage's bytes. Returns each storage's data, checked in size.
std::map<std::string, const uint8_t*> locate_legacy_storages(const uint8_t* data, size_t size, size_t offset,
                                                              const std::string& name, const Value* keys,
                                                              const Reading& r) {
  if (keys->kind != Kind::List) throw FileError(name + ": legacy storage key list is not a list");
  std::map<std::string, const uint8_t*> where;
  for (const Value* k : keys->items) {
    const std::string at = " (at offset " + std::to_string(offset) + ")";
    if (k->kind != Kind::String) throw FileError(name + ": legacy storage key is not a str" + at);
    const auto it = r.storages.find(k->s);
    if (it == r.storages.end()) throw FileError(name + ": legacy storage '" + k->s + "' is used by no tensor" + at);
    if (where.count(k->s)) throw FileError(name + ": legacy storage '" + k->s + "' is listed twice" + at);
    const Storage& s = *it->second;
    if (size - offset < 8) throw FileError(name + ": truncated before the size of storage '" + k->s + "'" + at);
    uint64_t count = 0;
    for (int i = 8; i-- > 0;) count = (count << 8) | data[offset + i];
    offset += 8;
    if (count != s.numel)
      throw FileError(name + ": storage '" + k->s + "' holds " + std::to_string(count) +
                      " element(s) but its tensors were pickled with " + std::to_string(s.numel) + at);
    if (count > (size - offset) / s.element_size)
      throw FileError(name + ": truncated inside storage '" + k->s + "' (" + std::to_string(count) +
                      " elements of " + std::to_string(s.element_size) + " bytes from offset " +
                      std::to_string(offset) + ", the file has " + std::to_string(size) + " bytes)");
    where[k->s] = data + offset;
    offset += count * s.element_size;
  }
  for (const auto& [key, storage] : r.storages)
    if (!where.count(key)) throw FileError(name + ": storage '" + key + "' is missing from the legacy key list");
  return where;
}

StateDict read_legacy(const uint8_t* data, size_t size, const std::string& name, const KeyFilter& wanted) {
  const size_t body = check_legacy_header(data, size, name);
  Reading r;
  const pickle::Globals globals = state_dict_globals();
  Unpickler u(data, size, body, name, "legacy state dict pickle", globals,
              [&r](Unpickler& up, const Value& pid) { return load_storage(r, up, pid); });
  const std::vector<Entry> entries = state_dict_entries(name, u.load());
  Unpickler key_list(data, size, u.end(), name, "legacy storage key list", no_globals());
  const Value* keys = key_list.load();
  const auto where = locate_legacy_storages(data, size, key_list.end(), name, keys, r);
  return gather(name, entries, wanted, [&](const std::string& key) { return where.at(key); });
}

bool is_zip(const uint8_t* data, size_t size) { return size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0; }

// PROTO 2 then LONG1 of 10 bytes: the legacy magic number's first pickle.
bool is_legacy(const uint8_t* data, size_t size) {
  return size >= 4 && data[0] == 0x80 && data[1] == 0x02 && data[2] == 0x8a && data[3] == 0x0a;
}

}  // namespace

bool looks_like_torch_file(const uint8_t* data, size_t size) { return is_zip(data, size) || is_legacy(data, size); }

StateDict read_state_dict(const uint8_t* data, size_t size, const std::string& name, const KeyFilter& wanted) {
  if (is_zip(data, size)) return read_zip(data, size, name, wanted);
  if (is_legacy(data, size)) return read_legacy(data, size, name, wanted);
  throw FileError(name + ": not a PyTorch .pth file (neither a zip archive nor a legacy torch.save file)");
}

StateDict read_state_dict(const std::string& path, const KeyFilter& wanted) {
  const MappedFile f(path);
  return read_state_dict(f.data(), f.size(), "weights file '" + path + "'", wanted);
}

}  // namespace nst::torch
