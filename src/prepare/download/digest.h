#pragma once
// Checksums of downloaded files (OpenSSL's EVP digests): SHA-256, or MD5 where that is what a
// dataset's owner publishes.
#include <filesystem>
#include <string>
#include <string_view>

namespace heed::download {

enum class DigestKind { kSha256, kMd5 };

// A digest to compare a file against: the algorithm and the expected lowercase hex value.
struct Checksum {
  DigestKind kind = DigestKind::kSha256;
  std::string hex;
};

std::string_view digest_name(DigestKind kind);

// Lowercase hex digest of the whole file; throws heed::Error when it cannot be read.
std::string file_digest(const std::filesystem::path& file, DigestKind kind);

// The hex value in `text` (a 64- or 32-character hex word, e.g. a sha256sum/md5sum line or a
// "MD5 (file) = ..." line), lowercased; empty when there is none of the kind's length.
std::string find_hex_digest(std::string_view text, DigestKind kind);

}  // namespace heed::download
