// The line reader on the shapes real files come in: CRLF, a byte-order mark, no final newline,
// gzip (whole and cut short), lines longer than the buffer, and lines over the limit; and CSV
// records whose quoted fields span lines, with the quotes left open that must not swallow a file.
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

// Quoted records: every record with its first line and the lines it spans.
struct Record {
  std::string text;
  std::uint64_t line, lines;
  bool operator==(const Record&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Record& r) {
  return out << "{\"" << r.text << "\", line " << r.line << ", " << r.lines << " lines}";
}

LineReader::Options csv_records(std::size_t max_line_bytes = LineReader::kDefaultMaxLineBytes) {
  return LineReader::Options{max_line_bytes, /*report_damage=*/false, /*quoted_records=*/true, ','};
}

std::vector<Record> read_records(LineReader& reader) {
  std::vector<Record> records;
  std::string_view line;
  while (reader.next(line)) records.push_back(Record{std::string(line), reader.line_number(), reader.line_count()});
  return records;
}

std::vector<Record> read_records(const std::filesystem::path& path, const LineReader::Options& options) {
  LineReader reader(path, options);
  return read_records(reader);
}

TEST(LineReaderQuotedRecords, ALineBreakInsideQuotesContinuesTheRecord) {
  TempDir dir("lines");
  write_file(dir / "a.csv", "label,text\n1,\"two\nlines\",x\n0,plain,y\n1,\"three\n\nlines\"\n0,last,z");
  EXPECT_EQ(read_records(dir / "a.csv", csv_records()),
            (std::vector<Record>{{"label,text", 1, 1},
                                 {"1,\"two\nlines\",x", 2, 2},
                                 {"0,plain,y", 4, 1},
                                 {"1,\"three\n\nlines\"", 5, 3},
                                 {"0,last,z", 8, 1}}));
  // Without quoted records (TSV and the other formats) a quote is text and every line a record.
  LineReader plain(dir / "a.csv");
  EXPECT_EQ(read_records(plain).size(), 8u);
}

TEST(LineReaderQuotedRecords, CrlfInsideQuotesReadsAsLf) {
  TempDir dir("lines");
  write_file(dir / "lf.csv", "a,b\n1,\"x\ny\"\n2,z\n");
  write_file(dir / "crlf.csv", "a,b\r\n1,\"x\r\ny\"\r\n2,z\r\n");
  const auto lf = read_records(dir / "lf.csv", csv_records());
  ASSERT_EQ(lf.size(), 3u);
  EXPECT_EQ(lf[1], (Record{"1,\"x\ny\"", 2, 2}));
  EXPECT_EQ(read_records(dir / "crlf.csv", csv_records()), lf);
  // A CR that is not before an LF stays.
  write_file(dir / "cr.csv", "1,\"x\ry\n\"\n");
  EXPECT_EQ(read_records(dir / "cr.csv", csv_records()), (std::vector<Record>{{"1,\"x\ry\n\"", 1, 2}}));
}

TEST(LineReaderQuotedRecords, DoubledQuotesAndQuotesInsideUnquotedFields) {
  TempDir dir("lines");
  // "" before and after a line break is an escaped quote, so the field stays open; a lone quote
  // closes it; a quote inside an unquoted field (12" pizza) opens nothing.
  write_file(dir / "a.csv",
             "1,\"say \"\"\nhi\"\"\",x\n"
             "2,\"\"\"\"\n"
             "3,12\" pizza,\"a\nb\"\n"
             "4,x\"\"\"y,z\n"
             "5,\"\"\n");
  EXPECT_EQ(read_records(dir / "a.csv", csv_records()),
            (std::vector<Record>{{"1,\"say \"\"\nhi\"\"\",x", 1, 2},
                                 {"2,\"\"\"\"", 3, 1},
                                 {"3,12\" pizza,\"a\nb\"", 4, 2},
                                 {"4,x\"\"\"y,z", 6, 1},
                                 {"5,\"\"", 7, 1}}));
}

TEST(LineReaderQuotedRecords, AnotherDelimiterAndAByteOrderMark) {
  TempDir dir("lines");
  write_file(dir / "a.csv", "\xEF\xBB\xBF\"a\nb\";c\nx,\"y;z\n");
  LineReader::Options options = csv_records();
  options.delimiter = ';';
  // The first quote opens (after the BOM); in x,"y the quote follows ',' which is no delimiter here.
  EXPECT_EQ(read_records(dir / "a.csv", options),
            (std::vector<Record>{{"\"a\nb\";c", 1, 2}, {"x,\"y;z", 3, 1}}));
}

TEST(LineReaderQuotedRecords, GzipAndRecordsAcrossBufferRefills) {
  // 30,000 records of 3 lines (over 1 MiB): records straddle the reader's buffer refills.
  TempDir dir("lines");
  std::string text = "id,note\r\n";
  std::uint64_t x = 99;
  for (int i = 0; i < 30000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    text += fmt::format("{},\"{}\r\n\"\"{}\"\"\n\",{}\r\n", i, x, x % 977, i % 7);
  }
  write_file(dir / "plain.csv", text);
  write_gzip(dir / "packed.csv.gz", text);
  const auto plain = read_records(dir / "plain.csv", csv_records());
  ASSERT_EQ(plain.size(), 30001u);
  EXPECT_EQ(plain[30000].line, 1u + 3 * 29999 + 1);
  EXPECT_EQ(plain[30000].lines, 3u);
  EXPECT_EQ(plain[1].text, fmt::format("0,\"{}\n\"\"{}\"\"\n\",0", 6364136223846793005ULL * 99 + 1442695040888963407ULL,
                                       (6364136223846793005ULL * 99 + 1442695040888963407ULL) % 977));
  EXPECT_EQ(read_records(dir / "packed.csv.gz", csv_records()), plain);
}

TEST(LineReaderQuotedRecords, UnclosedQuoteFailsNamingWhereItOpened) {
  TempDir dir("lines");
  write_file(dir / "a.csv", "a,b,c\n1,x,y\n0,\"stray,z\n1,p,q\n");
  const std::string message = HEED_ERROR_MESSAGE(read_records(dir / "a.csv", csv_records()), Error);
  EXPECT_THAT(message, HasSubstr("a.csv:3: column 2: the quoted field opened here is not closed by the end of the file"));
  // The same through the limit on a record: the quote opens on line 2 of a record that began on line 1.
  write_file(dir / "b.csv", std::string("\"ok\nfine\",\"open\n") + std::string(50, 'w') + std::string("\n") + std::string(50, 'w') + "\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(read_records(dir / "b.csv", csv_records(64)), Error),
              HasSubstr("b.csv:2: column 2: the quoted field opened here is not closed within the limit of 64 bytes"));
}

TEST(LineReaderQuotedRecords, ReportingCutsTheRecordAfterTheQuotesLineAndGoesOn) {
  TempDir dir("lines");
  write_file(dir / "a.csv", "1,\"a\nb\",\"stray\n2,x\n3,y");
  LineReader::Options options = csv_records();
  options.report_damage = true;
  LineReader reader(dir / "a.csv", options);
  std::string_view line;
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "1,\"a\nb\",\"stray");
  EXPECT_EQ(reader.line_number(), 1u);
  EXPECT_EQ(reader.line_count(), 2u);
  EXPECT_EQ(reader.unclosed_quote().line, 2u);
  EXPECT_EQ(reader.unclosed_quote().column, 3u);
  EXPECT_TRUE(reader.unclosed_quote().at_end_of_file);
  // Reading goes on at the line after the quote's: nothing more is lost.
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "2,x");
  EXPECT_EQ(reader.line_number(), 3u);
  EXPECT_FALSE(reader.unclosed_quote());
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "3,y");
  EXPECT_EQ(reader.line_number(), 4u);
  EXPECT_FALSE(reader.next(line));

  // Past the limit: the same, with at_end_of_file false, also when no line break comes in time.
  write_file(dir / "b.csv", std::string("\"open\n") + std::string(100, 'w') + std::string("\nnext\n\"open\n") + std::string(100, 'v'));
  options.max_line_bytes = 64;
  LineReader limited(dir / "b.csv", options);
  ASSERT_TRUE(limited.next(line));
  EXPECT_EQ(line, "\"open");
  EXPECT_EQ(limited.unclosed_quote().line, 1u);
  EXPECT_FALSE(limited.unclosed_quote().at_end_of_file);
  ASSERT_TRUE(limited.next(line));  // the long line itself, an ordinary over-long line
  EXPECT_TRUE(limited.line_too_long());
  EXPECT_EQ(limited.line_number(), 2u);
  ASSERT_TRUE(limited.next(line));
  EXPECT_EQ(line, "next");
  EXPECT_EQ(limited.line_number(), 3u);
  ASSERT_TRUE(limited.next(line));
  EXPECT_EQ(line, "\"open");
  EXPECT_EQ(limited.unclosed_quote().line, 4u);
  EXPECT_FALSE(limited.unclosed_quote().at_end_of_file);
}

TEST(LineReaderQuotedRecords, AClosedRecordOverTheLimit) {
  TempDir dir("lines");
  write_file(dir / "a.csv", std::string("\"") + std::string(40, 'a') + std::string("\n") + std::string(40, 'b') + "\",c\nok\n");
  EXPECT_THAT(HEED_ERROR_MESSAGE(read_records(dir / "a.csv", csv_records(64)), Error),
              HasSubstr("a.csv:1: record of 85 bytes (lines 1-2) is longer than the limit of 64 bytes"));
  LineReader::Options options = csv_records(64);
  options.report_damage = true;
  LineReader reader(dir / "a.csv", options);
  std::string_view line;
  ASSERT_TRUE(reader.next(line));
  EXPECT_TRUE(reader.line_too_long());
  EXPECT_EQ(reader.line_length(), 85u);
  EXPECT_EQ(reader.line_count(), 2u);
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "ok");
  EXPECT_EQ(reader.line_number(), 3u);
}

TEST(LineReaderQuotedRecords, SaysWhichRecordsHoldNoQuote) {
  // The splitter skips its own search for quotes on the records the reader saw hold none.
  const std::string text = "a,b\n\"x\ny\",z\n12\" pizza,c\n";
  std::vector<bool> may_hold;
  LineReader csv(LineReader::Text{"body", text}, csv_records());
  std::string_view line;
  while (csv.next(line)) may_hold.push_back(csv.line_may_hold_quotes());
  EXPECT_EQ(may_hold, (std::vector<bool>{false, true, true}));
  LineReader tsv(LineReader::Text{"body", text});  // without quoted records it cannot tell
  while (tsv.next(line)) EXPECT_TRUE(tsv.line_may_hold_quotes());
}

TEST(LineReaderQuotedRecords, TextInMemory) {
  LineReader reader(LineReader::Text{"body", "a\n\"x\ny\"\nb\n"}, csv_records());
  EXPECT_EQ(read_records(reader), (std::vector<Record>{{"a", 1, 1}, {"\"x\ny\"", 2, 2}, {"b", 4, 1}}));
}

}  // namespace
}  // namespace heed
