// The line reader on the shapes real files come in: CRLF, a byte-order mark, no final newline,
// gzip (whole and cut short), lines longer than the buffer, and lines over the limit.
#include "data/line_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "../support/test_files.h"
#include "core/error.h"

namespace heed {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_file;

std::vector<std::string> read_lines(const std::filesystem::path& path,
                                    std::size_t max_line_bytes = LineReader::kDefaultMaxLineBytes) {
  LineReader reader(path, max_line_bytes);
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.next(line)) {
    lines.emplace_back(line);
    EXPECT_EQ(reader.line_number(), lines.size());
  }
  return lines;
}

void write_gzip(const std::filesystem::path& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// Text that compresses poorly enough that the gzip file is many kilobytes long.
std::string numbered_lines(int n) {
  std::string text;
  std::uint64_t x = 12345;
  for (int i = 0; i < n; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    text += std::to_string(i) + "\t" + std::to_string(x) + "\n";
  }
  return text;
}

TEST(LineReader, PlainLinesAndOffsets) {
  TempDir dir("lines");
  write_file(dir / "a.tsv", "one\ntwo\n\nfour\n");
  LineReader reader(dir / "a.tsv");
  std::string_view line;
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "one");
  EXPECT_EQ(reader.line_offset(), 0u);
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "two");
  EXPECT_EQ(reader.line_offset(), 4u);
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "four");
  EXPECT_EQ(reader.line_number(), 4u);
  EXPECT_EQ(reader.line_offset(), 9u);
  EXPECT_FALSE(reader.next(line));
  EXPECT_FALSE(reader.next(line));
}

TEST(LineReader, CrlfLineEndingsAreDropped) {
  TempDir dir("lines");
  write_file(dir / "a.tsv", "a\tb\r\nc\td\r\n\r\ne\r\n");
  EXPECT_EQ(read_lines(dir / "a.tsv"), (std::vector<std::string>{"a\tb", "c\td", "", "e"}));
}

TEST(LineReader, ByteOrderMarkIsDroppedOnlyAtTheStart) {
  TempDir dir("lines");
  write_file(dir / "a.tsv", "\xEF\xBB\xBFlabel\titem\r\n\xEF\xBB\xBFx\n");
  EXPECT_EQ(read_lines(dir / "a.tsv"), (std::vector<std::string>{"label\titem", "\xEF\xBB\xBFx"}));
}

TEST(LineReader, LastLineWithoutNewline) {
  TempDir dir("lines");
  write_file(dir / "a.tsv", "first\nlast");
  EXPECT_EQ(read_lines(dir / "a.tsv"), (std::vector<std::string>{"first", "last"}));
  write_file(dir / "b.tsv", "last\r");
  EXPECT_EQ(read_lines(dir / "b.tsv"), (std::vector<std::string>{"last"}));
}

TEST(LineReader, EmptyFileHasNoLines) {
  TempDir dir("lines");
  write_file(dir / "empty.tsv", "");
  EXPECT_TRUE(read_lines(dir / "empty.tsv").empty());
}

TEST(LineReader, MissingFileAndFolderAreNamed) {
  TempDir dir("lines");
  EXPECT_THAT(HEED_ERROR_MESSAGE(LineReader(dir / "absent.tsv"), Error),
              HasSubstr("absent.tsv: no such file"));
  EXPECT_THAT(HEED_ERROR_MESSAGE(LineReader(dir.path()), Error), HasSubstr("is a folder"));
}

TEST(LineReader, GzipFileReadsLikeThePlainOne) {
  TempDir dir("lines");
  const std::string text =
      "\xEF\xBB\xBF"
      "label\titem\r\n" +
      numbered_lines(20000) + "tail";
  write_file(dir / "plain.tsv", text);
  write_gzip(dir / "packed.tsv.gz", text);
  const auto plain = read_lines(dir / "plain.tsv");
  ASSERT_EQ(plain.size(), 20002u);
  EXPECT_EQ(plain.front(), "label\titem");
  EXPECT_EQ(plain.back(), "tail");
  EXPECT_EQ(read_lines(dir / "packed.tsv.gz"), plain);
}

TEST(LineReader, TruncatedGzipIsAnError) {
  TempDir dir("lines");
  write_gzip(dir / "whole.gz", numbered_lines(20000));
  const std::string bytes = testing::read_file(dir / "whole.gz");
  ASSERT_GT(bytes.size(), 1000u);
  // Cut in the middle of the compressed data, and cut only the 8-byte trailer (CRC + length).
  for (const std::size_t keep :
       {bytes.size() / 2, bytes.size() - 4, bytes.size() - 8, std::size_t{12}}) {
    SCOPED_TRACE(keep);
    write_file(dir / "cut.gz", bytes.substr(0, keep));
    const std::string message = HEED_ERROR_MESSAGE(read_lines(dir / "cut.gz"), Error);
    EXPECT_THAT(message, HasSubstr("cut.gz"));
    EXPECT_THAT(message, HasSubstr("truncated"));
  }
}

TEST(LineReader, CorruptGzipIsAnError) {
  TempDir dir("lines");
  write_gzip(dir / "whole.gz", numbered_lines(20000));
  std::string bytes = testing::read_file(dir / "whole.gz");
  for (std::size_t i = 100; i < 140; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  write_file(dir / "bad.gz", bytes);
  EXPECT_THAT(HEED_ERROR_MESSAGE(read_lines(dir / "bad.gz"), Error), HasSubstr("bad.gz"));
}

TEST(LineReader, LinesLongerThanTheBufferAreWhole) {
  // The reader's buffer starts at 1 MiB; a 3 MiB line must make it grow, not split.
  TempDir dir("lines");
  const std::string big(3u << 20, 'x');
  write_file(dir / "a.tsv", "short\n" + big + "\nafter\n" + big);
  const auto lines = read_lines(dir / "a.tsv");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "short");
  EXPECT_EQ(lines[1], big);
  EXPECT_EQ(lines[2], "after");
  EXPECT_EQ(lines[3], big);
}

TEST(LineReader, LineOverTheLimitIsAnErrorNamingTheLine) {
  TempDir dir("lines");
  write_file(dir / "a.tsv", "ok\n" + std::string(200, 'y') + "\nok\n");
  const std::string message = HEED_ERROR_MESSAGE(read_lines(dir / "a.tsv", 100), Error);
  EXPECT_THAT(message, HasSubstr("a.tsv:2"));
  EXPECT_THAT(message, HasSubstr("limit of 100 bytes"));
  // Also when the long line is the last one, without a newline.
  write_file(dir / "b.tsv", "ok\n" + std::string(200, 'y'));
  EXPECT_THAT(HEED_ERROR_MESSAGE(read_lines(dir / "b.tsv", 100), Error), HasSubstr("b.tsv:2"));
  // A line of exactly the limit is fine.
  write_file(dir / "c.tsv", std::string(100, 'z') + "\n");
  EXPECT_EQ(read_lines(dir / "c.tsv", 100).size(), 1u);
}

TEST(LineReader, LineOverTheLimitLongerThanTheBuffer) {
  // Bounded memory: a 3 MiB line against a 1 MiB limit stops with an error.
  TempDir dir("lines");
  write_file(dir / "a.tsv", std::string(3u << 20, 'q') + "\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(read_lines(dir / "a.tsv", 1u << 20), Error), HasSubstr("a.tsv:1"));
}

}  // namespace
}  // namespace heed
