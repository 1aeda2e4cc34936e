#pragma once
// A page as a person sees it: Debian's chromium, headless, a fresh profile, no network use of
// its own. check_page renders a report at a window width and returns what a reader would
// notice: a page wider than the window, a box (table, chart) that scrolls sideways inside it,
// SVG labels drawn over each other or cut off at the chart's edge, messages on the browser
// console; and it leaves a screenshot.
//
// The layout is measured on a copy of the page with a probe script appended (the reports
// themselves carry no script): it writes its findings into the DOM that --dump-dom prints.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "test_files.h"

namespace heed::testing {

inline const std::filesystem::path kChromium = "/usr/bin/chromium";

inline bool have_chromium() {
  return std::filesystem::exists(kChromium);
}

inline std::string chromium_command(const std::filesystem::path& profile, int width, int height) {
  std::string c = "timeout 120 ";
  c += kChromium.string();
  c += " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
       "--disable-background-networking --disable-component-update --disable-sync "
       "--hide-scrollbars --enable-logging=stderr --v=0 --user-data-dir='";
  c += profile.string();
  c += "' --window-size=";
  c += std::to_string(width) + "," + std::to_string(height) + " ";
  return c;
}

// Finds, per <svg>, pairs of <text> whose boxes intersect (by more than a pixel each way) and
// texts reaching outside their svg.
inline const char* kLayoutProbe = R"JS(<script>
(function () {
  var out = [];
  var de = document.documentElement;
  out.push('scroll-width ' + de.scrollWidth + ' window-width ' + window.innerWidth);
  // A box that scrolls sideways hides part of its table or chart just the same.
  var all = document.querySelectorAll('*');
  for (var k = 0; k < all.length; k++) {
    var o = getComputedStyle(all[k]).overflowX;
    if ((o === 'auto' || o === 'scroll') && all[k].scrollWidth > all[k].clientWidth + 1)
      out.push('scrolls inside: <' + all[k].tagName.toLowerCase() + ' class="' +
               all[k].className + '"> ' + all[k].scrollWidth + ' > ' + all[k].clientWidth +
               ' px, starting "' + all[k].textContent.replace(/\s+/g, ' ').slice(0, 40) + '"');
  }
  // A table wider than the box that holds it spills over the box's edge (into the next column
  // of a grid, or past a card's border) without making anything scroll.
  var tables = document.querySelectorAll('table');
  for (var t = 0; t < tables.length; t++) {
    var inner = tables[t].getBoundingClientRect(), outer = tables[t].parentElement.getBoundingClientRect();
    if (inner.right > outer.right + 1)
      out.push('spills out of its box: <table> starting "' +
               tables[t].textContent.replace(/\s+/g, ' ').slice(0, 40) + '", ' +
               Math.round(inner.right - outer.right) + ' px');
  }
  var svgs = document.querySelectorAll('svg');
  for (var s = 0; s < svgs.length; s++) {
    var box = svgs[s].getBoundingClientRect();
    var texts = svgs[s].querySelectorAll('text');
    var rects = [];
    for (var i = 0; i < texts.length; i++) rects.push(texts[i].getBoundingClientRect());
    for (var i = 0; i < texts.length; i++) {
      var a = rects[i];
      if (a.width === 0) continue;
      if (a.left < box.left - 1 || a.right > box.right + 1 || a.top < box.top - 1 ||
          a.bottom > box.bottom + 1)
        out.push('outside svg ' + s + ': "' + texts[i].textContent + '"');
      for (var j = i + 1; j < texts.length; j++) {
        var b = rects[j];
        if (b.width === 0) continue;
        var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1)
          out.push('overlap in svg ' + s + ': "' + texts[i].textContent + '" / "' +
                   texts[j].textContent + '"');
      }
    }
  }
  var pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
})();
</script>)JS";

struct PageCheck {
  std::string error;  // the browser failed; empty when it ran
  int scroll_width = -1, window_width = -1;
  std::vector<std::string> problems;  // overlapping or cut-off labels
  std::vector<std::string> console;   // console lines (errors and warnings included)
  std::filesystem::path screenshot;
};

inline std::string joined_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

inline PageCheck check_page(const std::filesystem::path& page, int width, int height,
                            const std::filesystem::path& work) {
  PageCheck c;
  const std::string tag = page.stem().string() + "-" + std::to_string(width);
  std::filesystem::create_directories(work);
  // The page itself: a screenshot and its console.
  c.screenshot = work / (tag + ".png");
  CommandResult r = run_command(chromium_command(work / (tag + "-profile-shot"), width, height) +
                                    "--screenshot='" + c.screenshot.string() + "' 'file://" +
                                    page.string() + "'",
                                work);
  if (r.status != 0) {
    c.error = "chromium --screenshot exited " + std::to_string(r.status) + ": " + r.err;
    return c;
  }
  std::istringstream log(r.err);
  for (std::string line; std::getline(log, line);)
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos)
      c.console.push_back(line);
  // A probed copy: its layout.
  std::string html = read_file(page);
  const std::size_t end = html.rfind("</body>");
  html.insert(end == std::string::npos ? html.size() : end, kLayoutProbe);
  const std::filesystem::path probed = work / (tag + "-probed.html");
  write_file(probed, html);
  r = run_command(chromium_command(work / (tag + "-profile-dom"), width, height) +
                      "--dump-dom 'file://" + probed.string() + "'",
                  work);
  if (r.status != 0) {
    c.error = "chromium --dump-dom exited " + std::to_string(r.status) + ": " + r.err;
    return c;
  }
  const std::size_t at = r.out.find("<pre id=\"layout-probe\">");
  if (at == std::string::npos) {
    c.error = "the layout probe wrote nothing";
    return c;
  }
  const std::size_t from = r.out.find('>', at) + 1, to = r.out.find("</pre>", from);
  std::istringstream found(r.out.substr(from, to - from));
  for (std::string line; std::getline(found, line);) {
    if (line.rfind("scroll-width ", 0) == 0) {
      std::istringstream words(line);
      std::string w1, w2;
      words >> w1 >> c.scroll_width >> w2 >> c.window_width;
    } else if (!line.empty()) {
      c.problems.push_back(line);
    }
  }
  return c;
}

// The check every report page gets: at the laptop (1400 px) and desktop (1920 px) widths the
// page loads, does not scroll sideways, has no label over another or cut off, keeps the console
// empty and yields a real screenshot (in layout_dir).
inline void expect_page_fits_common_screens(const std::filesystem::path& page,
                                            const std::filesystem::path& layout_dir) {
  for (int width : {1400, 1920}) {
    const PageCheck c = check_page(page, width, 900, layout_dir);
    ASSERT_EQ(c.error, "") << width;
    EXPECT_EQ(c.window_width, width);
    EXPECT_LE(c.scroll_width, c.window_width) << "the page scrolls sideways at " << width;
    EXPECT_TRUE(c.problems.empty()) << width << ":\n" << joined_lines(c.problems);
    EXPECT_TRUE(c.console.empty()) << width << ":\n" << joined_lines(c.console);
    EXPECT_GT(std::filesystem::file_size(c.screenshot), 10'000u) << width;
  }
}

}  // namespace heed::testing
