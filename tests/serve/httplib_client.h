#pragma once
// cpp-httplib, included through this header only: it pulls in <resolv.h>, whose macro `_res`
// breaks Eigen's headers when they come after it (Eigen names parameters `_res`).
#include <httplib.h>
#undef _res
