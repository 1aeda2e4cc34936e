#pragma once
// `heed explain`'s page: one self-contained HTML file (inline CSS, inline SVG charts, no
// script, no network) with the model summary, SENet field importance, DIN attention on sampled
// rows and POSO gates per personalization value. Sections of modules that are off say so.
#include <string>

#include "explain/explanation.h"

namespace heed::explain {

std::string render_html(const Explanation& e);

}  // namespace heed::explain
