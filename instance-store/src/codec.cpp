// Bag codec; the format is specified in docs/codec.md. Every read is bounds-checked and every
// allocation is bounded by what the bytes can really hold: a blob comes from disk, a database
// row or a file an admin tool reads, and may be truncated, corrupted or hostile.

#include <durable/codec.hpp>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <new>

namespace durable {

const char* to_string(encoding e) noexcept {
    switch (e) {
        case encoding::none: return "none";
        case encoding::gzip: return "gzip";
        case encoding::zstd: return "zstd";
    }
    return "unknown";
}

namespace {

constexpr std::uint8_t magic[4] = {'D', 'R', 'B', 'G'};
constexpr std::size_t header_size = 10;
constexpr std::uint8_t option_bits_mask = 0x03;  // optional | write_only
constexpr std::uint8_t deleted_bit = 0x80;
// zstd level 1: several hundred MB/s, which keeps encoding invisible next to an fsync.
constexpr int zstd_level = 1;
// deflate cannot expand data more than ~1032:1, so a larger claim is a lie.
constexpr std::uint64_t max_deflate_ratio = 1032;
// A zstd block regenerates at most 128 KiB and costs at least its 3-byte header, so a claim
// beyond this ratio is a lie too; it also bounds the window zstd is allowed to allocate.
constexpr std::uint64_t max_zstd_ratio = ZSTD_BLOCKSIZE_MAX / 3 + 1;
// Decompression starts with room for this many times the compressed size (at least
// min_first_room bytes) and doubles as output arrives, so a false claim costs nothing.
constexpr std::size_t first_room_ratio = 4;
constexpr std::size_t min_first_room = 1024;

// ---- writing -----------------------------------------------------------------------------

class writer {
public:
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u64le(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<std::uint8_t>(v));
    }
    void raw(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        out_.insert(out_.end(), b, b + n);
    }
    void string(std::string_view s) {
        varint(s.size());
        raw(s.data(), s.size());
    }
    void reserve(std::size_t n) { out_.reserve(n); }
    std::size_t size() const noexcept { return out_.size(); }
    void patch_u32le(std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out_[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    bytes take() { return std::move(out_); }

private:
    bytes out_;
};

/// Enough room for an entry, so that a bag is encoded into one allocation.
std::size_t estimated_entry_bytes(const name& key, const instance_value& v) {
    std::size_t n = 32 + key.ns.size() + key.local.size();
    if (v.is_deleted()) return n;
    if (const auto* s = std::get_if<std::string>(&v.get())) n += s->size();
    if (const auto* b = std::get_if<bytes>(&v.get())) n += b->size();
    if (const auto* o = std::get_if<opaque>(&v.get())) n += o->content_type.size() + o->data.size();
    if (const auto* nm = std::get_if<name>(&v.get())) n += nm->ns.size() + nm->local.size();
    return n;
}

void write_value(writer& w, const value& v) {
    w.u8(static_cast<std::uint8_t>(kind_of(v)));
    std::visit(
        [&w](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
            } else if constexpr (std::is_same_v<T, bool>) {
                w.u8(x ? 1 : 0);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                w.u64le(static_cast<std::uint64_t>(x));
            } else if constexpr (std::is_same_v<T, double>) {
                w.u64le(std::bit_cast<std::uint64_t>(x));
            } else if constexpr (std::is_same_v<T, std::string>) {
                w.string(x);
            } else if constexpr (std::is_same_v<T, bytes>) {
                w.varint(x.size());
                w.raw(x.data(), x.size());
            } else if constexpr (std::is_same_v<T, uuid>) {
                w.raw(x.data, 16);
            } else if constexpr (std::is_same_v<T, timestamp>) {
                w.u64le(static_cast<std::uint64_t>(x.time_since_epoch().count()));
            } else if constexpr (std::is_same_v<T, duration>) {
                w.u64le(static_cast<std::uint64_t>(x.count()));
            } else if constexpr (std::is_same_v<T, name>) {
                w.string(x.ns);
                w.string(x.local);
            } else if constexpr (std::is_same_v<T, opaque>) {
                w.string(x.content_type);
                w.varint(x.data.size());
                w.raw(x.data.data(), x.data.size());
            }
        },
        v);
}

bytes compress(std::span<const std::uint8_t> payload, encoding enc) {
    if (enc == encoding::zstd) {
        // One context per thread, kept: ZSTD_compress makes a new one and zeroes its match
        // tables on every call, which cost more than compressing a 4 KB state (callgrind: about
        // 33,000 instructions a call, two calls per save). A reused context continues its
        // indices instead of zeroing.
        struct cctx_deleter {
            void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
        };
        thread_local const std::unique_ptr<ZSTD_CCtx, cctx_deleter> cctx(ZSTD_createCCtx());
        if (!cctx) throw std::bad_alloc();
        bytes out(ZSTD_compressBound(payload.size()));
        const std::size_t n =
            ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), payload.data(), payload.size(), zstd_level);
        if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
        out.resize(n);
        return out;
    }
    // gzip wrapper (windowBits 15 + 16), fastest level as the original's GZip option.
    z_stream zs{};
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("gzip: deflateInit2 failed");
    bytes out(deflateBound(&zs, static_cast<uLong>(payload.size())) + 32);
    zs.next_in = const_cast<Bytef*>(payload.data());  // zlib's API is not const-correct
    zs.avail_in = static_cast<uInt>(payload.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("gzip compression failed");
    out.resize(zs.total_out);
    return out;
}

// ---- reading -----------------------------------------------------------------------------

/// Bounds-checked reader; the first failure records where and why and makes every later read
/// fail too, so callers check once at the end of an entry.
class reader {
public:
    explicit reader(std::span<const std::uint8_t> in) : in_(in) {}
    bool ok() const noexcept { return error_.empty(); }
    const std::string& error() const noexcept { return error_; }
    std::size_t offset() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return in_.size() - pos_; }

    void fail(const std::string& why) {
        if (error_.empty()) error_ = why + " at payload offset " + std::to_string(pos_);
        pos_ = in_.size();
    }
    std::uint8_t u8() {
        if (!need(1, "byte")) return 0;
        return in_[pos_++];
    }
    std::uint64_t u64le() {
        if (!need(8, "8-byte integer")) return 0;
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= std::uint64_t{in_[pos_ + static_cast<std::size_t>(i)]} << (8 * i);
        pos_ += 8;
        return v;
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!need(1, "varint")) return 0;
            const std::uint8_t b = in_[pos_++];
            // The tenth byte holds bit 63 only; more would wrap into a small, wrong length.
            if (shift == 63 && b > 1) {
                fail("varint exceeds 64 bits");
                return 0;
            }
            v |= std::uint64_t{b & 0x7fu} << shift;
            if ((b & 0x80) == 0) return v;
        }
        fail("varint longer than 10 bytes");
        return 0;
    }
    std::size_t length(const char* what) {
        const std::uint64_t n = varint();
        if (ok() && n > remaining()) {
            fail(std::string(what) + " length " + std::to_string(n) + " past end of payload");
            return 0;
        }
        return static_cast<std::size_t>(n);
    }
    std::string string(const char* what) {
        const std::size_t n = length(what);
        if (!ok()) return {};
        std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    /// A length-prefixed run of bytes, in place.
    std::span<const std::uint8_t> span(const char* what) {
        const std::size_t n = length(what);
        if (!ok()) return {};
        const auto s = in_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    void raw(void* out, std::size_t n, const char* what) {
        if (!need(n, what)) return;
        std::memcpy(out, in_.data() + pos_, n);
        pos_ += n;
    }

private:
    bool need(std::size_t n, const char* what) {
        if (!ok()) return false;
        if (remaining() < n) {
            fail(std::string("truncated ") + what);
            return false;
        }
        return true;
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    std::string error_;
};

/// Reads one value; strings, bytes and opaque data are left in place, in `ref`.
void read_value(reader& r, std::uint8_t kind_tag, bag_entry_ref& ref) {
    ref.kind = static_cast<value_kind>(kind_tag);
    switch (ref.kind) {
        case value_kind::null: ref.small = std::monostate{}; return;
        case value_kind::boolean: {
            const std::uint8_t b = r.u8();
            if (b > 1) r.fail("bool byte " + std::to_string(b) + " is not 0 or 1");
            ref.small = b == 1;
            return;
        }
        case value_kind::int64: ref.small = static_cast<std::int64_t>(r.u64le()); return;
        case value_kind::real: ref.small = std::bit_cast<double>(r.u64le()); return;
        case value_kind::string: ref.payload = r.span("string"); return;
        case value_kind::binary: ref.payload = r.span("bytes"); return;
        case value_kind::identifier: {
            uuid id{};
            r.raw(id.data, 16, "uuid");
            ref.small = id;
            return;
        }
        case value_kind::instant: ref.small = timestamp{duration{static_cast<std::int64_t>(r.u64le())}}; return;
        case value_kind::interval: ref.small = duration{static_cast<std::int64_t>(r.u64le())}; return;
        case value_kind::qualified_name: {
            name n;
            n.ns = r.string("name namespace");
            n.local = r.string("name local part");
            ref.small = std::move(n);
            return;
        }
        case value_kind::opaque: {
            const auto type = r.span("opaque content type");
            ref.content_type = std::string_view(reinterpret_cast<const char*>(type.data()), type.size());
            ref.payload = r.span("opaque data");
            return;
        }
    }
    r.fail("unknown value kind " + std::to_string(kind_tag));
}

/// The decompressed payload, grown as output really arrives: from a few times the compressed
/// size, doubling, never past the header's claim. Once the claim is filled, further output goes
/// to a one-byte scratch area: any byte landing there proves the stream longer than claimed.
class payload_buffer {
public:
    payload_buffer(bytes& out, std::size_t claimed, std::size_t compressed_size)
        : out_(out), claimed_(claimed) {
        grow_to(std::min(claimed, std::max(compressed_size * first_room_ratio, min_first_room)));
    }
    /// Where the next output goes.
    std::span<std::uint8_t> room() {
        if (produced_ == out_.size() && out_.size() < claimed_) grow_to(std::min(claimed_, out_.size() * 2));
        if (produced_ == out_.size()) return {&past_claim_, 1};
        return std::span(out_).subspan(produced_);
    }
    /// Records that `n` bytes were written to the last room(); false if they went past the claim.
    bool wrote(std::size_t n) {
        if (produced_ == out_.size()) return n == 0;
        produced_ += n;
        return true;
    }
    std::size_t produced() const noexcept { return produced_; }

    error_code too_long(encoding enc, std::string& what) const {
        what = std::string(to_string(enc)) + " stream holds more than the header's payload length " + std::to_string(claimed_);
        return errc::corrupt_data;
    }
    error_code truncated(encoding enc, std::string& what) const {
        what = std::string(to_string(enc)) + " stream is truncated after " + std::to_string(produced_) + " of " +
               std::to_string(claimed_) + " payload bytes";
        return errc::corrupt_data;
    }

private:
    void grow_to(std::size_t n) {
        out_.reserve(n);  // exactly n: resize alone may double the capacity past the claim
        out_.resize(n);
    }

    bytes& out_;
    std::size_t claimed_;
    std::size_t produced_ = 0;
    std::uint8_t past_claim_ = 0;
};

error_code trailing_input(encoding enc, std::size_t unread, std::string& what) {
    what = std::to_string(unread) + " trailing bytes after the " + to_string(enc) + " stream";
    return errc::corrupt_data;
}

error_code inflate_gzip(std::span<const std::uint8_t> body, payload_buffer& out, std::string& what) {
    z_stream zs{};
    if (const int rc = inflateInit2(&zs, 15 + 16); rc != Z_OK) {
        if (rc == Z_MEM_ERROR) throw std::bad_alloc();
        throw std::runtime_error("gzip: inflateInit2 failed with " + std::to_string(rc) + " (zlib version mismatch?)");
    }
    const std::unique_ptr<z_stream, decltype(&inflateEnd)> end_inflate(&zs, &inflateEnd);
    std::size_t fed = 0;  // avail_in is 32 bits: a larger body goes in several slices
    for (;;) {
        if (zs.avail_in == 0 && fed < body.size()) {
            const std::size_t n = std::min<std::size_t>(body.size() - fed, std::numeric_limits<uInt>::max());
            zs.next_in = const_cast<Bytef*>(body.data() + fed);  // zlib's API is not const-correct
            zs.avail_in = static_cast<uInt>(n);
            fed += n;
        }
        const auto room = out.room();
        zs.next_out = room.data();
        zs.avail_out = static_cast<uInt>(room.size());  // at most the 1 GiB limit
        const int rc = inflate(&zs, Z_NO_FLUSH);
        if (!out.wrote(room.size() - zs.avail_out)) return out.too_long(encoding::gzip, what);
        if (rc == Z_STREAM_END) break;
        // There is always room for output, so "no progress possible" means the input ran out.
        if (rc == Z_BUF_ERROR) return out.truncated(encoding::gzip, what);
        if (rc == Z_MEM_ERROR) throw std::bad_alloc();
        if (rc != Z_OK) {
            what = std::string("gzip stream is damaged: ") + (zs.msg != nullptr ? zs.msg : "inflate error " + std::to_string(rc));
            return errc::corrupt_data;
        }
    }
    if (const std::size_t unread = body.size() - fed + zs.avail_in; unread != 0)
        return trailing_input(encoding::gzip, unread, what);
    return {};
}

error_code inflate_zstd(std::span<const std::uint8_t> body, std::uint32_t expected, payload_buffer& out,
                        std::string& what) {
    // Only a frame of the current format: libzstd also decodes skippable frames and, when built
    // with legacy support (as Debian's is), pre-1.0 frames, whose decoders allocate the window
    // their header asks for whatever ZSTD_d_windowLogMax says. A body shorter than the magic
    // number is left to the stream, which reports it truncated.
    for (std::size_t i = 0; i < std::min<std::size_t>(body.size(), 4); ++i) {
        if (body[i] != static_cast<std::uint8_t>(std::uint32_t{ZSTD_MAGICNUMBER} >> (8 * i))) {
            what = "zstd body does not start with a frame of the current zstd format";
            return errc::corrupt_data;
        }
    }
    // The frame's own content size, when it records one, is only a cheap early refusal: the
    // stream below is checked against the header whatever the frame says.
    const unsigned long long frame_size = ZSTD_getFrameContentSize(body.data(), body.size());
    if (frame_size != ZSTD_CONTENTSIZE_UNKNOWN && frame_size != ZSTD_CONTENTSIZE_ERROR && frame_size != expected) {
        what = "zstd frame content size " + std::to_string(frame_size) + " does not match the header's payload length " +
               std::to_string(expected);
        return errc::corrupt_data;
    }
    const std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!dctx) throw std::bad_alloc();
    // zstd allocates the window the frame header asks for before any output. A frame decoding
    // to `expected` bytes needs no more than the next power of two (our writer never asks for
    // more), and the ratio check has already bounded `expected` by the body's size.
    const int window_log = std::max(10, static_cast<int>(std::bit_width(std::max<std::uint32_t>(expected, 1) - 1)));
    if (const std::size_t rc = ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, window_log); ZSTD_isError(rc))
        throw std::runtime_error(std::string("zstd: cannot limit the window: ") + ZSTD_getErrorName(rc));
    ZSTD_inBuffer in{body.data(), body.size(), 0};
    for (;;) {
        const auto room = out.room();
        ZSTD_outBuffer o{room.data(), room.size(), 0};
        const std::size_t read_before = in.pos;
        const std::size_t rc = ZSTD_decompressStream(dctx.get(), &o, &in);
        if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge) {
            what = "zstd frame asks for a window larger than " + std::to_string(std::size_t{1} << window_log) +
                   " bytes, more than its payload of " + std::to_string(expected) + " bytes needs";
            return errc::corrupt_data;
        }
        if (ZSTD_isError(rc)) {
            what = std::string("zstd stream is damaged: ") + ZSTD_getErrorName(rc);
            return errc::corrupt_data;
        }
        if (!out.wrote(o.pos)) return out.too_long(encoding::zstd, what);
        if (rc == 0) break;  // the frame is complete and flushed
        if (o.pos == 0 && in.pos == read_before) return out.truncated(encoding::zstd, what);
    }
    if (in.pos != in.size) return trailing_input(encoding::zstd, in.size - in.pos, what);
    return {};
}

/// Decompresses `body` into `out`, which ends up exactly `expected` bytes long or the blob is
/// refused. `out` follows the output the stream really produces (at most twice it, or four
/// times the body to begin with), never past `expected`.
error_code decompress(std::span<const std::uint8_t> body, encoding enc, std::uint32_t expected, bytes& out,
                      std::string& what) {
    const std::uint64_t ratio = enc == encoding::gzip ? max_deflate_ratio : max_zstd_ratio;
    if (std::uint64_t{expected} > (body.size() + 1) * ratio) {
        what = std::string(to_string(enc)) + " payload length " + std::to_string(expected) + " impossible for " +
               std::to_string(body.size()) + " compressed bytes";
        return errc::corrupt_data;
    }
    payload_buffer buffer(out, expected, body.size());
    if (auto ec = enc == encoding::gzip ? inflate_gzip(body, buffer, what) : inflate_zstd(body, expected, buffer, what))
        return ec;
    if (buffer.produced() != expected) {
        what = std::string(to_string(enc)) + " stream ends after " + std::to_string(buffer.produced()) +
               " bytes but the header's payload length is " + std::to_string(expected);
        return errc::corrupt_data;
    }
    return {};
}

}  // namespace

bytes encode_bag_if(const property_bag& bag, encoding enc, const std::function<bool(const instance_value&)>& include) {
    std::size_t count = 0, estimate = header_size;
    for (const auto& [key, v] : bag) {
        if (include && !include(v)) continue;
        ++count;
        estimate += estimated_entry_bytes(key, v);
    }
    // Header, then the payload in the same buffer: the payload length is patched in after.
    writer out;
    out.reserve(estimate);
    out.raw(magic, sizeof magic);
    out.u8(codec_format_version);
    out.u8(static_cast<std::uint8_t>(enc));
    for (int i = 0; i < 4; ++i) out.u8(0);  // the payload length, patched in below
    out.varint(count);
    for (const auto& [key, v] : bag) {
        if (include && !include(v)) continue;
        out.string(key.ns);
        out.string(key.local);
        std::uint8_t options = static_cast<std::uint8_t>(v.options()) & option_bits_mask;
        if (v.is_deleted()) options |= deleted_bit;
        out.u8(options);
        write_value(out, v.get());
    }
    const std::size_t body_size = out.size() - header_size;
    if (body_size > codec_max_payload_bytes)
        throw std::length_error("property bag of " + std::to_string(body_size) + " bytes exceeds the codec limit");
    out.patch_u32le(header_size - 4, static_cast<std::uint32_t>(body_size));
    bytes blob = out.take();
    if (enc == encoding::none) return blob;
    const bytes packed = compress(std::span(blob).subspan(header_size), enc);
    blob.resize(header_size);
    blob.insert(blob.end(), packed.begin(), packed.end());
    return blob;
}

bytes encode_bag(const property_bag& bag, encoding enc) { return encode_bag_if(bag, enc, {}); }

error_code read_bag_header(std::span<const std::uint8_t> blob, bag_header& out, std::string& what,
                           std::size_t max_payload_bytes) {
    if (blob.size() < header_size) {
        what = "blob of " + std::to_string(blob.size()) + " bytes is shorter than the 10-byte header";
        return errc::corrupt_data;
    }
    if (std::memcmp(blob.data(), magic, sizeof magic) != 0) {
        what = "blob does not start with the \"DRBG\" magic";
        return errc::corrupt_data;
    }
    out.format_version = blob[4];
    if (out.format_version == 0 || out.format_version > codec_format_version) {
        what = "bag format version " + std::to_string(out.format_version) + " is not supported (this build reads 1.." +
               std::to_string(codec_format_version) + ")";
        return errc::unsupported_format;
    }
    if (blob[5] > static_cast<std::uint8_t>(encoding::zstd)) {
        what = "unknown bag encoding " + std::to_string(blob[5]);
        return errc::unsupported_format;
    }
    out.enc = static_cast<encoding>(blob[5]);
    out.payload_bytes = static_cast<std::uint32_t>(blob[6]) | static_cast<std::uint32_t>(blob[7]) << 8 |
                        static_cast<std::uint32_t>(blob[8]) << 16 | static_cast<std::uint32_t>(blob[9]) << 24;
    if (out.payload_bytes > codec_max_payload_bytes) {
        what = "bag payload length " + std::to_string(out.payload_bytes) + " exceeds the format's limit of " +
               std::to_string(codec_max_payload_bytes) + " bytes";
        return errc::corrupt_data;
    }
    if (out.payload_bytes > max_payload_bytes) {
        what = "bag payload of " + std::to_string(out.payload_bytes) + " bytes exceeds the limit of " +
               std::to_string(max_payload_bytes) + " bytes; raise store_options::max_bag_bytes to read it";
        return errc::value_too_large;
    }
    return {};
}

error_code decode_bag_entries(std::span<const std::uint8_t> blob, const bag_entry_visitor& visit, std::string& what,
                              std::size_t max_payload_bytes) {
    bag_header header;
    if (auto ec = read_bag_header(blob, header, what, max_payload_bytes)) return ec;
    const auto body = blob.subspan(header_size);

    bytes inflated;
    std::span<const std::uint8_t> payload = body;
    if (header.enc == encoding::none) {
        if (body.size() != header.payload_bytes) {
            what = "payload is " + std::to_string(body.size()) + " bytes but the header says " +
                   std::to_string(header.payload_bytes);
            return errc::corrupt_data;
        }
    } else {
        if (auto ec = decompress(body, header.enc, header.payload_bytes, inflated, what)) return ec;
        payload = inflated;
    }

    reader r(payload);
    const std::uint64_t count = r.varint();
    // Each entry takes at least 4 bytes, which bounds a forged count before any allocation.
    if (r.ok() && count > r.remaining() / 4) r.fail("entry count " + std::to_string(count) + " too large for payload");
    for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
        bag_entry_ref entry;
        entry.key.ns = r.string("name namespace");
        entry.key.local = r.string("name local part");
        const std::uint8_t options = r.u8();
        const std::uint8_t kind = r.u8();
        read_value(r, kind, entry);
        if (!r.ok()) break;
        if (entry.key.local.empty()) {
            r.fail("entry " + std::to_string(i) + " has an empty name");
            break;
        }
        if ((options & ~(option_bits_mask | deleted_bit)) != 0) {
            r.fail("entry " + std::to_string(i) + " has unknown option bits");
            break;
        }
        // Otherwise the value would be read, and silently dropped by every reader.
        if ((options & deleted_bit) != 0 && entry.kind != value_kind::null) {
            r.fail("entry " + std::to_string(i) + " is a deleted marker with value kind " + std::to_string(kind));
            break;
        }
        entry.deleted = (options & deleted_bit) != 0;
        entry.options = static_cast<value_options>(options & option_bits_mask);
        if (const char* problem = visit(entry)) {
            r.fail("entry " + std::to_string(i) + " " + problem);
            break;
        }
    }
    if (r.ok() && r.remaining() != 0) r.fail(std::to_string(r.remaining()) + " trailing bytes");
    if (!r.ok()) {
        what = r.error();
        return errc::corrupt_data;
    }
    return {};
}

value bag_entry_ref::to_value() const {
    const auto text = [](std::span<const std::uint8_t> s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); };
    switch (kind) {
        case value_kind::string: return text(payload);
        case value_kind::binary: return bytes(payload.begin(), payload.end());
        case value_kind::opaque: return opaque{std::string(content_type), bytes(payload.begin(), payload.end())};
        default: return small;
    }
}

error_code decode_bag(std::span<const std::uint8_t> blob, property_bag& out, std::string& what,
                      std::size_t max_payload_bytes) {
    out.clear();
    const auto ec = decode_bag_entries(
        blob,
        [&out](const bag_entry_ref& entry) -> const char* {
            instance_value v = entry.deleted ? instance_value::deleted() : instance_value(entry.to_value(), entry.options);
            return out.emplace(entry.key, std::move(v)).second ? nullptr : "repeats a name";
        },
        what, max_payload_bytes);
    if (ec) out.clear();
    return ec;
}

}  // namespace durable
