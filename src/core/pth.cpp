#include "augcore/core/pth.h"

#include <ATen/ops/empty.h>
#include <caffe2/serialize/inline_container.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "augcore/core/error.h"
#include "augcore/core/read_file.h"
#include "augcore/core/runtime.h"

namespace augcore::pth {

c10::impl::GenericDict new_dict() {
  return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get());
}

namespace {

// ---------------------------------------------------------------- reading

// The element type of a torch.<Type>Storage class name (UntypedStorage holds bytes).
bool storage_dtype(const std::string& name, at::ScalarType& out) {
  static const std::map<std::string, at::ScalarType> types{
      {"FloatStorage", at::kFloat},
      {"DoubleStorage", at::kDouble},
      {"HalfStorage", at::kHalf},
      {"BFloat16Storage", at::kBFloat16},
      {"LongStorage", at::kLong},
      {"IntStorage", at::kInt},
      {"ShortStorage", at::kShort},
      {"CharStorage", at::kChar},
      {"ByteStorage", at::kByte},
      {"BoolStorage", at::kBool},
      {"ComplexFloatStorage", at::kComplexFloat},
      {"ComplexDoubleStorage", at::kComplexDouble}};
  if (name == "UntypedStorage") {
    out = at::kByte;
    return true;
  }
  const auto it = types.find(name);
  if (it == types.end()) return false;
  out = it->second;
  return true;
}

// `text` with control bytes written as \xNN, for names read from a file.
std::string printable(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      static const char* const kHex = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A zip archive as torch.save writes it: records inside one top folder, read by name after
// that folder ("data.pkl", "version", "data/0"). Stored and deflated records are read; every
// record's CRC-32 is checked (LibTorch's own reader skips the check, and leaks when its
// constructor throws on a malformed archive, so it is not used for reading).
class ZipArchive {
 public:
  ZipArchive(const std::vector<char>& bytes, const std::string& name) : bytes_(bytes), name_(name) {
    const std::size_t n = bytes.size();
    if (n < 22) bad("too short for a zip archive");
    // The end-of-central-directory record: within the last 64 KiB (its comment is shorter).
    std::size_t eocd = n - 22;
    const std::size_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
    while (u32(eocd) != 0x06054b50u) {
      if (eocd == lowest) bad("no zip end-of-central-directory record");
      --eocd;
    }
    std::uint64_t entries = u16(eocd + 10), at = u32(eocd + 16);
    // Zip64 (archives over 4 GiB or 65535 records): the locator precedes the record.
    if ((entries == 0xffff || at == 0xffffffffu) && eocd >= 20 && u32(eocd - 20) == 0x07064b50u) {
      const std::uint64_t z = u64(eocd - 12);
      if (!fits(z, 56) || u32(z) != 0x06064b50u) bad("damaged zip64 directory");
      entries = u64(z + 32);
      at = u64(z + 48);
    }
    std::string top;
    for (std::uint64_t i = 0; i < entries; ++i) {
      if (!fits(at, 46) || u32(at) != 0x02014b50u) bad("damaged zip central directory");
      const std::size_t name_len = u16(at + 28), extra = u16(at + 30), comment = u16(at + 32);
      if (!fits(at, 46 + name_len + extra)) bad("damaged zip central directory");
      const std::string full(bytes.data() + at + 46, name_len);
      const auto slash = full.find('/');
      if (slash == std::string::npos) {
        bad("record '" + printable(full) + "' is not inside the archive folder");
      }
      if (i == 0) top = full.substr(0, slash);
      Record r{u32(at + 16), u16(at + 10), u32(at + 20), u32(at + 24), u32(at + 42)};
      zip64_sizes(at + 46 + name_len, extra, r);
      if (full.compare(0, slash, top) == 0) records_[full.substr(slash + 1)] = r;
      at += 46 + name_len + extra + comment;
    }
    if (records_.count("data.pkl") == 0) bad("no data.pkl record");
  }

  bool has(const std::string& record) const { return records_.count(record) > 0; }

  // A record's bytes (valid while the archive lives). Throws DataError when it is missing,
  // damaged or fails its CRC-32 check.
  std::string_view read(const std::string& record) const {
    const auto it = records_.find(record);
    if (it == records_.end()) bad("no '" + printable(record) + "' record");
    const Record& r = it->second;
    const std::size_t n = bytes_.size();
    if (!fits(r.local_offset, 30) || u32(r.local_offset) != 0x04034b50u) {
      bad("damaged local header of '" + record + "'");
    }
    const std::uint64_t data =
        r.local_offset + 30 + u16(r.local_offset + 26) + u16(r.local_offset + 28);
    if (data > n || r.compressed > n - data) bad("record '" + record + "' runs past the end");
    std::string_view out;
    if (r.method == 0) {
      if (r.compressed != r.size) bad("record '" + record + "' has inconsistent sizes");
      out = std::string_view(bytes_.data() + data, r.compressed);
    } else if (r.method == 8) {
      // Deflate expands at most 1032:1; a larger declared size is damage, not data.
      if (r.size / 1032 > r.compressed) bad("record '" + record + "' is impossibly large");
      inflated_.emplace_back(r.size, '\0');
      std::string& buffer = inflated_.back();
      z_stream zs{};
      if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) bad("zlib init failed");
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes_.data() + data));
      zs.avail_in = static_cast<uInt>(std::min<std::uint64_t>(r.compressed, UINT32_MAX));
      zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
      zs.avail_out = static_cast<uInt>(std::min<std::uint64_t>(r.size, UINT32_MAX));
      const int ret = inflate(&zs, Z_FINISH);
      const auto produced = zs.total_out;
      inflateEnd(&zs);
      if (ret != Z_STREAM_END || produced != r.size)
        bad("record '" + record + "' does not inflate");
      out = buffer;
    } else {
      bad("record '" + record + "' uses zip method " + std::to_string(r.method));
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (std::size_t done = 0; done < out.size();) {
      const auto chunk = static_cast<uInt>(std::min<std::size_t>(out.size() - done, 1u << 30));
      crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), chunk);
      done += chunk;
    }
    if (static_cast<std::uint32_t>(crc) != r.crc) {
      throw DataError(name_ + ": record '" + record +
                      "' fails its CRC-32 check (the file is damaged)");
    }
    return out;
  }

 private:
  struct Record {
    std::uint32_t crc, method;
    std::uint64_t compressed, size, local_offset;
  };
  [[noreturn]] void bad(const std::string& why) const {
    throw DataError(name_ + ": not a readable torch.save archive (" + why + ")");
  }
  // Whether `length` bytes from `at` lie inside the archive (without overflowing).
  bool fits(std::uint64_t at, std::uint64_t length) const {
    return at <= bytes_.size() && length <= bytes_.size() - at;
  }
  std::uint32_t u16(std::uint64_t at) const {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes_[at])) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes_[at + 1])) << 8;
  }
  std::uint32_t u32(std::uint64_t at) const { return u16(at) | u16(at + 2) << 16; }
  std::uint64_t u64(std::uint64_t at) const {
    return u32(at) | static_cast<std::uint64_t>(u32(at + 4)) << 32;
  }
  // Replaces 0xffffffff sizes and offsets by those of the zip64 extra field.
  void zip64_sizes(std::uint64_t at, std::size_t extra, Record& r) const {
    const std::uint64_t end = at + extra;
    while (at + 4 <= end) {
      const std::uint32_t id = u16(at), len = u16(at + 2);
      std::uint64_t p = at + 4;
      if (id == 0x0001) {
        for (std::uint64_t* field : {&r.size, &r.compressed, &r.local_offset}) {
          if (*field != 0xffffffffu) continue;
          if (p + 8 > end) bad("damaged zip64 extra field");
          *field = u64(p);
          p += 8;
        }
      }
      at += 4 + len;
    }
  }

  const std::vector<char>& bytes_;
  std::string name_;
  std::unordered_map<std::string, Record> records_;
  mutable std::deque<std::string> inflated_;
};

// A class used as a plain value (e.g. the storage type in a tensor's persistent id).
const std::string kGlobalTag = "\x01global:";

// One entry of the unpickler's stack.
struct Item {
  enum class Kind { kValue, kGlobal };
  Kind kind = Kind::kValue;
  c10::IValue value;   // kValue (a storage is held as its flat 1-D tensor)
  std::string global;  // kGlobal: "module.name"
};

class Unpickler {
 public:
  Unpickler(const std::string& name, std::string_view pickle, const ZipArchive& archive)
      : name_(name), data_(pickle), archive_(archive) {}

  c10::IValue run() {
    for (;;) {
      const std::size_t at = pos_;
      const std::uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          bytes(8);
          break;  // FRAME
        case '.':
          return pop_value(at);  // STOP
        case '(':
          push_mark();
          break;  // MARK
        case '0':
          pop(at);
          break;  // POP
        case '1':
          pop_to_mark(at);
          break;  // POP_MARK
        case '2':
          stack_.push_back(top(at));
          break;  // DUP
        case '}':
          push(new_dict());
          break;  // EMPTY_DICT
        case ']':
          push(c10::impl::GenericList(c10::AnyType::get()));
          break;  // EMPTY_LIST
        case ')':
          push(c10::ivalue::Tuple::create(std::vector<c10::IValue>{}));
          break;
        case 'd': {  // DICT
          auto items = pop_to_mark(at);
          auto dict = new_dict();
          set_items(dict, items, at);
          push(dict);
          break;
        }
        case 'l': {  // LIST
          auto items = pop_to_mark(at);
          c10::impl::GenericList list(c10::AnyType::get());
          for (auto& i : items)
            list.push_back(value_of(i, at));
          push(list);
          break;
        }
        case 't': {  // TUPLE
          auto items = pop_to_mark(at);
          std::vector<c10::IValue> values;
          for (auto& i : items)
            values.push_back(value_of(i, at));
          push(c10::ivalue::Tuple::create(std::move(values)));
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const std::size_t n = op - 0x84u;
          need(n, at);
          std::vector<c10::IValue> values;
          for (std::size_t i = stack_.size() - n; i < stack_.size(); ++i) {
            values.push_back(value_of(stack_[i], at));
          }
          stack_.resize(stack_.size() - n);
          push(c10::ivalue::Tuple::create(std::move(values)));
          break;
        }
        case 'a': {  // APPEND
          c10::IValue v = pop_value(at);
          append(top(at), {v}, at);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark(at);
          std::vector<c10::IValue> values;
          for (auto& i : items)
            values.push_back(value_of(i, at));
          append(top(at), values, at);
          break;
        }
        case 's': {  // SETITEM
          need(3, at);
          std::vector<Item> kv(stack_.end() - 2, stack_.end());
          stack_.resize(stack_.size() - 2);
          set_into(top(at), kv, at);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark(at);
          set_into(top(at), items, at);
          break;
        }
        case 'N':
          push(c10::IValue());
          break;
        case 0x88:
          push(true);
          break;
        case 0x89:
          push(false);
          break;
        case 'J':
          push(static_cast<std::int64_t>(static_cast<std::int32_t>(le(4))));
          break;
        case 'K':
          push(static_cast<std::int64_t>(le(1)));
          break;
        case 'M':
          push(static_cast<std::int64_t>(le(2)));
          break;
        case 0x8a:
          push(long_int(le(1), at));
          break;  // LONG1
        case 0x8b:
          push(long_int(le(4), at));
          break;     // LONG4
        case 'G': {  // BINFLOAT, big-endian
          const std::string b = bytes(8);
          std::uint64_t bits = 0;
          for (char c : b)
            bits = (bits << 8) | static_cast<std::uint8_t>(c);
          double d = 0;
          std::memcpy(&d, &bits, 8);
          push(d);
          break;
        }
        case 'X':
          push(bytes(le(4)));
          break;  // BINUNICODE
        case 0x8c:
          push(bytes(le(1)));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          push(bytes(le(8)));
          break;  // BINUNICODE8
        case 'U':
        case 'C':
          push(bytes(le(1)));
          break;  // SHORT_BINSTRING / SHORT_BINBYTES
        case 'T':
        case 'B':
          push(bytes(le(4)));
          break;     // BINSTRING / BINBYTES
        case 'c': {  // GLOBAL
          const std::string module = line(at), name = line(at);
          push_global(module + "." + name);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const c10::IValue name = pop_value(at), module = pop_value(at);
          if (!name.isString() || !module.isString()) fail(at, "STACK_GLOBAL needs two strings");
          push_global(module.toStringRef() + "." + name.toStringRef());
          break;
        }
        case 'R': {  // REDUCE
          const c10::IValue args = pop_value(at);
          const Item callable = pop(at);
          push_item(reduce(callable, args, at));
          break;
        }
        case 0x81: {  // NEWOBJ
          const c10::IValue args = pop_value(at);
          const Item cls = pop(at);
          push_item(reduce(cls, args, at));
          break;
        }
        case 0x92: {  // NEWOBJ_EX
          pop_value(at);
          const c10::IValue args = pop_value(at);
          const Item cls = pop(at);
          push_item(reduce(cls, args, at));
          break;
        }
        case 'b':
          pop(at);
          break;     // BUILD: object state (e.g. OrderedDict._metadata) is dropped
        case 'Q': {  // BINPERSID
          const c10::IValue pid = pop_value(at);
          push_item(persistent(pid, at));
          break;
        }
        case 'q':
          memo_[le(1)] = top(at);
          break;  // BINPUT
        case 'r':
          memo_[le(4)] = top(at);
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top(at);
          break;  // MEMOIZE
        case 'h':
          get(le(1), at);
          break;  // BINGET
        case 'j':
          get(le(4), at);
          break;  // LONG_BINGET
        default:
          fail(at, "unsupported pickle opcode 0x" + hex(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw DataError(name_ + ": data.pkl offset " + std::to_string(at) + ": " + what);
  }
  static std::string hex(unsigned v) {
    char b[8];
    std::snprintf(b, sizeof b, "%02x", v);
    return b;
  }
  std::uint8_t byte() {
    if (pos_ >= data_.size()) fail(pos_, "unexpected end of the pickle stream");
    return static_cast<std::uint8_t>(data_[pos_++]);
  }
  std::string bytes(std::uint64_t n) {
    if (n > data_.size() - pos_)
      fail(pos_, "a " + std::to_string(n) + "-byte field runs past the end");
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::uint64_t le(int n) {
    const std::string b = bytes(n);
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i)
      v = (v << 8) | static_cast<std::uint8_t>(b[i]);
    return v;
  }
  std::string line(std::size_t at) {
    const auto end = data_.find('\n', pos_);
    if (end == std::string::npos) fail(at, "unterminated GLOBAL name");
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  c10::IValue long_int(std::uint64_t n, std::size_t at) {
    if (n > 8) fail(at, "integer wider than 64 bits");
    const std::string b = bytes(n);
    std::uint64_t v = 0;
    for (int i = static_cast<int>(n) - 1; i >= 0; --i)
      v = (v << 8) | static_cast<std::uint8_t>(b[i]);
    if (n > 0 && n < 8 && (static_cast<std::uint8_t>(b[n - 1]) & 0x80))
      v |= ~std::uint64_t(0) << (8 * n);
    return static_cast<std::int64_t>(v);
  }

  void push(c10::IValue v) {
    Item i;
    i.value = std::move(v);
    stack_.push_back(std::move(i));
  }
  void push_item(Item i) { stack_.push_back(std::move(i)); }
  void push_mark() { marks_.push_back(stack_.size()); }
  void push_global(std::string g) {
    Item i;
    i.kind = Item::Kind::kGlobal;
    i.global = std::move(g);
    stack_.push_back(std::move(i));
  }
  void need(std::size_t n, std::size_t at) const {
    if (stack_.size() < n + (marks_.empty() ? 0 : marks_.back())) fail(at, "stack underflow");
  }
  Item& top(std::size_t at) {
    need(1, at);
    return stack_.back();
  }
  Item pop(std::size_t at) {
    need(1, at);
    Item i = std::move(stack_.back());
    stack_.pop_back();
    return i;
  }
  c10::IValue value_of(const Item& i, std::size_t at) const {
    if (i.kind == Item::Kind::kValue) return i.value;
    (void)at;
    return kGlobalTag + i.global;  // a class used as a value
  }
  c10::IValue pop_value(std::size_t at) { return value_of(pop(at), at); }
  std::vector<Item> pop_to_mark(std::size_t at) {
    if (marks_.empty()) fail(at, "no MARK on the stack");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) fail(at, "MARK beyond the stack");
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + m),
                            std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void get(std::uint64_t key, std::size_t at) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail(at, "memo key " + std::to_string(key) + " was never stored");
    stack_.push_back(it->second);
  }
  void append(Item& target, const std::vector<c10::IValue>& values, std::size_t at) {
    if (target.kind != Item::Kind::kValue) fail(at, "APPEND to a non-list");
    if (target.value.isNone()) return;  // appending to an opaque object
    if (!target.value.isList()) fail(at, "APPEND to a non-list");
    auto list = target.value.toList();
    for (const auto& v : values)
      list.push_back(v);
  }
  void set_items(c10::impl::GenericDict& dict, const std::vector<Item>& kv, std::size_t at) {
    if (kv.size() % 2 != 0) fail(at, "odd number of items for a dict");
    for (std::size_t i = 0; i < kv.size(); i += 2) {
      const c10::IValue key = value_of(kv[i], at);
      if (!key.isString() && !key.isInt()) fail(at, "dict keys must be strings or integers");
      dict.insert_or_assign(key, value_of(kv[i + 1], at));
    }
  }
  void set_into(Item& target, const std::vector<Item>& kv, std::size_t at) {
    if (target.kind != Item::Kind::kValue) fail(at, "SETITEM on a non-dict");
    if (target.value.isNone()) return;  // state of an opaque object
    if (!target.value.isGenericDict()) fail(at, "SETITEM on a non-dict");
    auto dict = target.value.toGenericDict();
    set_items(dict, kv, at);
  }

  Item persistent(const c10::IValue& pid, std::size_t at) {
    if (!pid.isTuple()) fail(at, "persistent id is not a tuple");
    const std::vector<c10::IValue> e = pid.toTupleRef().elements().vec();
    if (e.size() != 5 || !e[0].isString() || e[0].toStringRef() != "storage" || !e[2].isString() ||
        !e[4].isInt()) {
      fail(at, "persistent id is not ('storage', type, key, location, numel)");
    }
    std::string type = e[1].isString() ? e[1].toStringRef() : "";
    if (type.rfind(kGlobalTag, 0) != 0) fail(at, "persistent id without a storage class");
    type = type.substr(type.find_last_of('.') + 1);
    at::ScalarType dtype = at::kFloat;
    if (!storage_dtype(type, dtype)) fail(at, "unsupported storage type '" + type + "'");
    const std::string key = e[2].toStringRef();
    const std::int64_t numel = e[4].toInt();
    if (numel < 0) fail(at, "negative storage size");
    Item item;
    const auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      item.value = cached->second;
      return item;
    }
    const std::string record = "data/" + key;
    if (!archive_.has(record)) fail(at, "missing tensor data record '" + record + "'");
    const std::string_view bytes = archive_.read(record);
    const std::size_t size = bytes.size();
    const std::size_t element = c10::elementSize(dtype);
    if (static_cast<std::size_t>(numel) > size / element) {
      fail(at, "record '" + record + "' holds " + std::to_string(size) + " bytes, expected " +
                   std::to_string(numel * element));
    }
    at::Tensor storage = at::empty({numel}, at::TensorOptions().dtype(dtype));
    if (numel > 0) std::memcpy(storage.data_ptr(), bytes.data(), numel * element);
    storages_[key] = storage;
    item.value = storage;
    return item;
  }

  Item reduce(const Item& callable, const c10::IValue& args, std::size_t at) {
    if (callable.kind != Item::Kind::kGlobal) {
      return Item{};  // calling an opaque object: keep going with None
    }
    const std::string& g = callable.global;
    if (g == "collections.OrderedDict" || g == "builtins.dict") {
      Item i;
      i.value = new_dict();
      return i;
    }
    if (!args.isTuple()) fail(at, g + " called without an argument tuple");
    const std::vector<c10::IValue> a = args.toTupleRef().elements().vec();
    if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || !a[1].isInt() || !a[2].isTuple() || !a[3].isTuple()) {
        fail(at, g + ": unexpected arguments");
      }
      Item i;
      i.value = rebuild_tensor(a[0], a[1].toInt(), a[2], a[3], at);
      return i;
    }
    if (g == "torch._utils._rebuild_parameter" ||
        g == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || !a[0].isTensor()) fail(at, g + ": unexpected arguments");
      Item i;
      i.value = a[0];
      return i;
    }
    return Item{};  // any other class or function: an opaque None
  }

  at::Tensor rebuild_tensor(const c10::IValue& storage, std::int64_t offset,
                            const c10::IValue& size_t_, const c10::IValue& stride_t,
                            std::size_t at) {
    if (!storage.isTensor()) fail(at, "tensor rebuilt from something that is not a storage");
    std::vector<std::int64_t> size, stride;
    for (const auto& v : size_t_.toTupleRef().elements()) {
      if (!v.isInt() || v.toInt() < 0) fail(at, "invalid tensor size");
      size.push_back(v.toInt());
    }
    for (const auto& v : stride_t.toTupleRef().elements()) {
      if (!v.isInt() || v.toInt() < 0) fail(at, "invalid tensor stride");
      stride.push_back(v.toInt());
    }
    if (size.size() != stride.size()) fail(at, "tensor size and stride differ in length");
    const at::Tensor flat = storage.toTensor();
    std::int64_t extent = offset, numel = 1;
    for (std::size_t d = 0; d < size.size(); ++d) {
      numel *= size[d];
      if (size[d] > 0) extent += (size[d] - 1) * stride[d];
    }
    if (offset < 0 || (numel > 0 && extent >= flat.numel())) {
      fail(at,
           "tensor view reaches past its storage of " + std::to_string(flat.numel()) + " elements");
    }
    if (numel == 0) return at::empty(size, flat.options());
    return flat.as_strided(size, stride, offset);
  }

  std::string name_;
  std::string_view data_;
  const ZipArchive& archive_;
  std::size_t pos_ = 0;
  std::vector<Item> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Item> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
};

}  // namespace
}  // namespace augcore::pth

namespace augcore::pth {
namespace {

std::string describe_error(const std::string& name, const std::exception& e) {
  std::string what = e.what();
  const auto nl = what.find('\n');
  if (nl != std::string::npos) what.resize(nl);
  return name + ": not a readable torch.save archive (" + what + ")";
}

}  // namespace

c10::IValue load_bytes(const std::vector<char>& bytes, const std::string& name) {
  if (bytes.size() >= 2 && bytes[0] == '\x80') {
    throw DataError(name +
                    ": a legacy (pre-1.6, non-zip) torch.save file; re-save it with a "
                    "current PyTorch");
  }
  if (bytes.size() < 4 || bytes[0] != 'P' || bytes[1] != 'K') {
    throw DataError(name + ": not a torch.save zip archive (bad magic bytes)");
  }
  try {
    const ZipArchive archive(bytes, name);
    return Unpickler(name, archive.read("data.pkl"), archive).run();
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    throw DataError(describe_error(name, e));
  }
}

c10::IValue load(const std::string& path) {
  return load_bytes(read_file<char>(path), path);
}

// ---------------------------------------------------------------- writing

namespace {

class Pickler {
 public:
  std::string out;
  std::vector<at::Tensor> storages;

  void value(const c10::IValue& v) {
    if (v.isNone()) {
      out += 'N';
    } else if (v.isBool()) {
      out += static_cast<char>(v.toBool() ? 0x88 : 0x89);
    } else if (v.isInt()) {
      integer(v.toInt());
    } else if (v.isDouble()) {
      out += 'G';
      double d = v.toDouble();
      std::uint64_t bits = 0;
      std::memcpy(&bits, &d, 8);
      for (int i = 7; i >= 0; --i)
        out += static_cast<char>((bits >> (8 * i)) & 0xFF);
    } else if (v.isString()) {
      string(v.toStringRef());
    } else if (v.isTensor()) {
      tensor(v.toTensor());
    } else if (v.isGenericDict()) {
      out += '}';
      const auto dict = v.toGenericDict();
      if (dict.size() == 0) return;
      out += '(';
      for (const auto& kv : dict) {
        value(kv.key());
        value(kv.value());
      }
      out += 'u';
    } else if (v.isList()) {
      out += ']';
      const auto list = v.toListRef();
      if (list.empty()) return;
      out += '(';
      for (const auto& item : list)
        value(item);
      out += 'e';
    } else if (v.isTuple()) {
      out += '(';
      for (const auto& item : v.toTupleRef().elements())
        value(item);
      out += 't';
    } else {
      throw std::invalid_argument(std::string("pth::save cannot store a ") + v.tagKind());
    }
  }

 private:
  void integer(std::int64_t i) {
    if (i >= 0 && i < 256) {
      out += 'K';
      out += static_cast<char>(i);
    } else if (i >= INT32_MIN && i <= INT32_MAX) {
      out += 'J';
      for (int b = 0; b < 4; ++b)
        out += static_cast<char>((static_cast<std::uint32_t>(i) >> (8 * b)) & 0xFF);
    } else {
      out += static_cast<char>(0x8a);
      out += static_cast<char>(8);
      for (int b = 0; b < 8; ++b)
        out += static_cast<char>((static_cast<std::uint64_t>(i) >> (8 * b)) & 0xFF);
    }
  }
  void string(const std::string& s) {
    out += 'X';
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int b = 0; b < 4; ++b)
      out += static_cast<char>((n >> (8 * b)) & 0xFF);
    out += s;
  }
  void global(const std::string& module, const std::string& name) {
    out += 'c';
    out += module + "\n" + name + "\n";
  }
  static std::string storage_class(at::ScalarType t) {
    switch (t) {
      case at::kFloat:
        return "FloatStorage";
      case at::kDouble:
        return "DoubleStorage";
      case at::kHalf:
        return "HalfStorage";
      case at::kBFloat16:
        return "BFloat16Storage";
      case at::kLong:
        return "LongStorage";
      case at::kInt:
        return "IntStorage";
      case at::kShort:
        return "ShortStorage";
      case at::kChar:
        return "CharStorage";
      case at::kByte:
        return "ByteStorage";
      case at::kBool:
        return "BoolStorage";
      default:
        throw std::invalid_argument(std::string("pth::save: unsupported dtype ") +
                                    c10::toString(t));
    }
  }
  void tensor(const at::Tensor& t) {
    const at::Tensor data = t.detach().to(at::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    storages.push_back(data);
    global("torch._utils", "_rebuild_tensor_v2");
    out += '(';
    // persistent id: ('storage', torch.<Type>Storage, key, 'cpu', numel)
    out += '(';
    string("storage");
    global("torch", storage_class(data.scalar_type()));
    string(key);
    string("cpu");
    integer(data.numel());
    out += 't';
    out += 'Q';
    integer(0);
    out += '(';
    for (auto s : data.sizes())
      integer(s);
    out += 't';
    out += '(';
    for (auto s : data.strides())
      integer(s);
    out += 't';
    out += static_cast<char>(0x89);  // requires_grad False
    global("collections", "OrderedDict");
    out += ')';
    out += 'R';
    out += 't';
    out += 'R';
  }
};

}  // namespace

std::vector<char> save_bytes(const c10::IValue& value) {
  Pickler p;
  p.out += static_cast<char>(0x80);
  p.out += static_cast<char>(2);
  p.value(value);
  p.out += '.';
  std::vector<char> buffer;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t n) {
    const char* c = static_cast<const char*>(data);
    buffer.insert(buffer.end(), c, c + n);
    return n;
  });
  writer.writeRecord("data.pkl", p.out.data(), p.out.size());
  const std::string byteorder = "little";
  writer.writeRecord("byteorder", byteorder.data(), byteorder.size());
  for (std::size_t i = 0; i < p.storages.size(); ++i) {
    const at::Tensor& t = p.storages[i];
    writer.writeRecord("data/" + std::to_string(i), t.data_ptr(), t.numel() * t.element_size());
  }
  writer.writeEndOfFile();
  return buffer;
}

void save(const c10::IValue& value, const std::string& path) {
  const std::vector<char> bytes = save_bytes(value);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace augcore::pth
