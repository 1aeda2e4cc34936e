// Splitting one line into fields: plain TSV, and CSV with quoted fields.
#include "data/field_splitter.h"

#include <gtest/gtest.h>

namespace heed {
namespace {

std::vector<std::string> split(FieldSplitter& splitter, std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t bad_column = 0;
  const std::string problem = splitter.split(line, fields, bad_column);
  EXPECT_EQ(problem, "") << line;
  return {fields.begin(), fields.end()};
}

using Fields = std::vector<std::string>;

TEST(FieldSplitter, TsvSplitsOnEveryTab) {
  FieldSplitter tsv('\t', false);
  EXPECT_EQ(split(tsv, "a\tb\tc"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(split(tsv, "a\t\tc\t"), (Fields{"a", "", "c", ""}));
  EXPECT_EQ(split(tsv, ""), (Fields{""}));
  EXPECT_EQ(split(tsv, "\t"), (Fields{"", ""}));
  // Without quoting, quotes and commas are ordinary characters.
  EXPECT_EQ(split(tsv, "\"x\ty\"\ta,b"), (Fields{"\"x", "y\"", "a,b"}));
}

TEST(FieldSplitter, CsvWithoutQuotes) {
  FieldSplitter csv(',', true);
  EXPECT_EQ(split(csv, "1,item 7,a|b"), (Fields{"1", "item 7", "a|b"}));
  EXPECT_EQ(split(csv, "1,,"), (Fields{"1", "", ""}));
}

TEST(FieldSplitter, CsvQuotedFields) {
  FieldSplitter csv(',', true);
  EXPECT_EQ(split(csv, "1,\"Toy Story, 1995\",x"), (Fields{"1", "Toy Story, 1995", "x"}));
  EXPECT_EQ(split(csv, "\"say \"\"hi\"\"\",2"), (Fields{"say \"hi\"", "2"}));
  EXPECT_EQ(split(csv, "\"\",\"\"\"\""), (Fields{"", "\""}));
  EXPECT_EQ(split(csv, "a,\"b\","), (Fields{"a", "b", ""}));
  EXPECT_EQ(split(csv, "\"only\""), (Fields{"only"}));
  // A quote inside an unquoted field is literal.
  EXPECT_EQ(split(csv, "5\"9,x"), (Fields{"5\"9", "x"}));
}

TEST(FieldSplitter, ManyQuotedFieldsStayValidTogether) {
  // Every field view must still be valid after the whole line is split.
  FieldSplitter csv(',', true);
  std::string line;
  Fields expected;
  for (int i = 0; i < 200; ++i) {
    std::string value =
        "v,";  // appended piece by piece: GCC 12 warns falsely on "literal" + string
    value += std::to_string(i);
    if (i) line += ",";
    line += "\"";
    line += value;
    line += "\"";
    expected.push_back(value);
  }
  EXPECT_EQ(split(csv, line), expected);
}

TEST(FieldSplitter, CsvWithAnotherDelimiter) {
  FieldSplitter semicolon(';', true);
  EXPECT_EQ(split(semicolon, "\"a;b\";c,d"), (Fields{"a;b", "c,d"}));
}

TEST(FieldSplitter, UnterminatedQuoteNamesItsColumn) {
  FieldSplitter csv(',', true);
  std::vector<std::string_view> fields;
  std::size_t bad_column = 0;
  EXPECT_EQ(csv.split("1,2,\"open, never closed", fields, bad_column), "unterminated quoted field");
  EXPECT_EQ(bad_column, 3u);
  bad_column = 0;
  EXPECT_EQ(csv.split("\"x\"\"", fields, bad_column), "unterminated quoted field");
  EXPECT_EQ(bad_column, 1u);
}

TEST(FieldSplitter, TextAfterAClosingQuoteIsAnError) {
  FieldSplitter csv(',', true);
  std::vector<std::string_view> fields;
  std::size_t bad_column = 0;
  EXPECT_EQ(csv.split("a,\"b\"c,d", fields, bad_column), "unexpected text after a closing quote");
  EXPECT_EQ(bad_column, 2u);
}

}  // namespace
}  // namespace heed
