#include "prepare/download/digest.h"

#include <openssl/evp.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <vector>

#include "core/error.h"

namespace heed::download {

std::string_view digest_name(DigestKind kind) {
  return kind == DigestKind::kSha256 ? "SHA-256" : "MD5";
}

std::string file_digest(const std::filesystem::path& file, DigestKind kind) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open the file to check its {}", file.string(), digest_name(kind)));
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const EVP_MD* algorithm = kind == DigestKind::kSha256 ? EVP_sha256() : EVP_md5();
  if (!context || EVP_DigestInit_ex(context.get(), algorithm, nullptr) != 1) {
    throw Error("cannot start a digest (OpenSSL)");
  }
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > 0) EVP_DigestUpdate(context.get(), buffer.data(), got);
  }
  if (in.bad()) throw Error(fmt::format("{}: read error while checking its {}", file.string(), digest_name(kind)));
  unsigned char value[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), value, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", value[i]);
  return hex;
}

std::string find_hex_digest(std::string_view text, DigestKind kind) {
  const std::size_t want = kind == DigestKind::kSha256 ? 64 : 32;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && std::isxdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j - i == want) {
      std::string hex(text.substr(i, want));
      for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return hex;
    }
    i = j == i ? i + 1 : j;
  }
  return "";
}

}  // namespace heed::download
