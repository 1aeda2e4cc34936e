#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <minizip/zip.h>

#include "../support/test_files.h"
#include "core/error.h"
#include "prepare/download/digest.h"
#include "prepare/download/download.h"
#include "prepare/download/unzip.h"

namespace heed::download {
namespace {

using ::testing::HasSubstr;
using heed::testing::read_file;
using heed::testing::TempDir;
using heed::testing::write_file;

// A zip archive holding `entries` (name, contents), written with minizip.
void write_zip(const std::filesystem::path& path,
               const std::vector<std::pair<std::string, std::string>>& entries) {
  zipFile zip = zipOpen64(path.c_str(), APPEND_STATUS_CREATE);
  ASSERT_NE(zip, nullptr);
  for (const auto& [name, contents] : entries) {
    ASSERT_EQ(zipOpenNewFileInZip64(zip, name.c_str(), nullptr, nullptr, 0, nullptr, 0, nullptr,
                                    Z_DEFLATED, Z_DEFAULT_COMPRESSION, 0),
              ZIP_OK);
    ASSERT_EQ(zipWriteInFileInZip(zip, contents.data(), static_cast<unsigned>(contents.size())), ZIP_OK);
    ASSERT_EQ(zipCloseFileInZip(zip), ZIP_OK);
  }
  ASSERT_EQ(zipClose(zip, nullptr), ZIP_OK);
}

// A stand-in for GroupLens's ml-100k.zip: the expected files with some bytes in them (big
// enough that a transfer spans several writes).
std::vector<std::pair<std::string, std::string>> ml100k_entries() {
  std::string ratings;
  for (int i = 0; i < 20000; ++i) ratings += fmt::format("{}\t{}\t{}\t{}\n", i % 943 + 1, i % 1682 + 1, i % 5 + 1, 874965758 + i * 7919);
  return {{"ml-100k/u.data", ratings},          {"ml-100k/u.user", "1|24|M|technician|85711\n"},
          {"ml-100k/u.item", "1|Toy Story|...\n"}, {"ml-100k/u.genre", "unknown|0\n"},
          {"ml-100k/u1.base", "1\t1\t5\t1\n"},     {"ml-100k/u1.test", "1\t2\t3\t1\n"}};
}

struct Mirror {
  TempDir dir{"download"};
  std::filesystem::path folder = dir / "mirror";
  std::filesystem::path zip = folder / "ml-100k.zip";
  std::string url = fmt::format("file://{}", folder.string());
  Mirror() {
    std::filesystem::create_directories(folder);
    write_zip(zip, ml100k_entries());
  }
  DownloadOptions options(const std::string& out = "out") const {
    DownloadOptions o;
    o.name = "ml-100k";
    o.out = dir / out;
    o.mirror = url;
    return o;
  }
};

TEST(Download, FetchesVerifiesThePublishedMd5AndUnpacks) {
  Mirror mirror;
  write_file(mirror.folder / "ml-100k.zip.md5",
             fmt::format("MD5 (ml-100k.zip) = {}\n", file_digest(mirror.zip, DigestKind::kMd5)));
  const DownloadReport report = download_dataset(mirror.options());
  const auto out = mirror.dir / "out";
  EXPECT_EQ(read_file(out / "ml-100k.zip"), read_file(mirror.zip));
  EXPECT_EQ(read_file(out / "ml-100k" / "u.data"), ml100k_entries()[0].second);
  EXPECT_FALSE(std::filesystem::exists(out / "ml-100k.zip.part"));
  EXPECT_THAT(report.lines, ::testing::Contains(HasSubstr("MD5 verified")));
  EXPECT_EQ(report.next, fmt::format("heed prepare ml-100k --source {}/ml-100k --out data/ml100k", out.string()));
  // A second run finds the file complete and only unpacks again.
  const DownloadReport again = download_dataset(mirror.options());
  EXPECT_THAT(again.lines, ::testing::Contains(HasSubstr("already downloaded, MD5 verified")));
}

TEST(Download, WrongPublishedChecksumIsRefusedAndTheFileRemoved) {
  Mirror mirror;
  write_file(mirror.folder / "ml-100k.zip.md5", std::string(32, 'a') + "  ml-100k.zip\n");
  const std::string message = HEED_ERROR_MESSAGE(download_dataset(mirror.options()), Error);
  EXPECT_THAT(message, HasSubstr("ml-100k.zip: MD5 mismatch: expected aaaaaaaa"));
  EXPECT_THAT(message, HasSubstr("the file was removed"));
  EXPECT_FALSE(std::filesystem::exists(mirror.dir / "out" / "ml-100k.zip"));
  EXPECT_FALSE(std::filesystem::exists(mirror.dir / "out" / "ml-100k.zip.part"));
}

TEST(Download, UserSha256IsChecked) {
  Mirror mirror;  // no .md5 on this mirror: without --sha256 only the structure is checked
  DownloadOptions options = mirror.options();
  options.sha256 = file_digest(mirror.zip, DigestKind::kSha256);
  for (char& c : options.sha256) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_THAT(download_dataset(options).lines, ::testing::Contains(HasSubstr("SHA-256 verified")));

  DownloadOptions wrong = mirror.options("wrong");
  wrong.sha256 = std::string(64, '0');
  EXPECT_THAT(HEED_ERROR_MESSAGE(download_dataset(wrong), Error), HasSubstr("SHA-256 mismatch: expected 0000"));
  wrong.sha256 = "abc";
  EXPECT_THAT(HEED_ERROR_MESSAGE(download_dataset(wrong), Error), HasSubstr("is not 64 hex digits"));

  const DownloadReport unchecked = download_dataset(mirror.options("unchecked"));
  EXPECT_THAT(unchecked.lines, ::testing::Contains(HasSubstr("could not fetch the published MD5")));
}

TEST(Download, ResumesFromATruncatedPartialFile) {
  Mirror mirror;
  const std::string whole = read_file(mirror.zip);
  ASSERT_GT(whole.size(), 1000u);
  const auto out = mirror.dir / "out";
  std::filesystem::create_directories(out);
  write_file(out / "ml-100k.zip.part", whole.substr(0, whole.size() / 2));
  DownloadOptions options = mirror.options();
  options.sha256 = file_digest(mirror.zip, DigestKind::kSha256);
  const DownloadReport report = download_dataset(options);
  EXPECT_THAT(report.lines,
              ::testing::Contains(HasSubstr(fmt::format("resumed after {} bytes", whole.size() / 2))));
  EXPECT_EQ(read_file(out / "ml-100k.zip"), whole);
}

TEST(Download, IncompleteArchiveIsAnError) {
  Mirror mirror;
  auto entries = ml100k_entries();
  entries.pop_back();  // no u1.test
  write_zip(mirror.zip, entries);
  EXPECT_THAT(HEED_ERROR_MESSAGE(download_dataset(mirror.options()), Error),
              HasSubstr("missing ml-100k/u1.test"));
}

TEST(Download, MissingRemoteFileSaysWhy) {
  Mirror mirror;
  std::filesystem::remove(mirror.zip);
  EXPECT_THAT(HEED_ERROR_MESSAGE(download_dataset(mirror.options()), Error),
              HasSubstr("ml-100k.zip: download failed"));
}

TEST(Download, SeveralPlainFiles) {
  Mirror mirror;
  for (const char* part : {"train", "validation", "test"}) {
    write_file(mirror.folder / fmt::format("frappe.{}.libfm", part), fmt::format("1 0:1 {}\n", part));
  }
  DownloadOptions options = mirror.options();
  options.name = "frappe";
  const DownloadReport report = download_dataset(options);
  EXPECT_EQ(read_file(mirror.dir / "out" / "frappe.validation.libfm"), "1 0:1 validation\n");
  EXPECT_THAT(report.lines, ::testing::Contains(HasSubstr("no checksum is published")));
  options.sha256 = std::string(64, 'a');
  EXPECT_THAT(HEED_ERROR_MESSAGE(download_dataset(options), Error), HasSubstr("frappe has 3 files"));
}

TEST(Download, UnknownAndLoginOnlyDatasets) {
  DownloadOptions options;
  options.out = "unused";
  options.name = "ml-10m";
  EXPECT_THAT(HEED_ERROR_MESSAGE(download_dataset(options), Error),
              HasSubstr("unknown dataset 'ml-10m'; known datasets: ml-100k, ml-1m, frappe, criteo, avazu, taobao"));
  for (const char* name : {"criteo", "avazu", "taobao"}) {
    options.name = name;
    const std::string message = HEED_ERROR_MESSAGE(download_dataset(options), Error);
    EXPECT_THAT(message, HasSubstr("cannot be downloaded by heed"));
    EXPECT_THAT(message, HasSubstr("needs a"));
    EXPECT_THAT(message, HasSubstr(fmt::format("heed prepare {} --source unused", name)));
  }
}

TEST(DownloadCommand, FromAMirrorAndUnknownNames) {
  Mirror mirror;
  const std::string heed = heed::testing::heed_binary();
  const auto ok = heed::testing::run_command(
      heed + " download ml-100k --no-published-checksum --mirror '" + mirror.url + "' --out '" +
          (mirror.dir / "cli").string() + "'",
      mirror.dir.path());
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("next: heed prepare ml-100k --source"));
  EXPECT_TRUE(std::filesystem::exists(mirror.dir / "cli" / "ml-100k" / "u.data"));
  const auto unknown = heed::testing::run_command(heed + " download imagenet --out x", mirror.dir.path());
  EXPECT_EQ(unknown.status, 1);
  EXPECT_THAT(unknown.err, HasSubstr("unknown dataset 'imagenet'; known datasets: ml-100k, ml-1m"));
}

TEST(Unzip, RefusesEntriesOutsideTheFolder) {
  TempDir dir("unzip");
  write_zip(dir / "evil.zip", {{"../escaped.txt", "x"}});
  EXPECT_THAT(HEED_ERROR_MESSAGE(unzip(dir / "evil.zip", dir / "out"), Error),
              HasSubstr("would be written outside"));
  EXPECT_FALSE(std::filesystem::exists(dir / "escaped.txt"));
  write_file(dir / "not.zip", "plain text");
  EXPECT_THAT(HEED_ERROR_MESSAGE(unzip(dir / "not.zip", dir / "out"), Error), HasSubstr("not a zip archive"));
}

TEST(Digest, KnownValues) {
  TempDir dir("digest");
  write_file(dir / "abc", "abc");
  EXPECT_EQ(file_digest(dir / "abc", DigestKind::kSha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(file_digest(dir / "abc", DigestKind::kMd5), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(find_hex_digest("MD5 (ml-100k.zip) = 0123456789ABCDEF0123456789ABCDEF", DigestKind::kMd5),
            "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(find_hex_digest("no digest here", DigestKind::kMd5), "");
}

}  // namespace
}  // namespace heed::download
