#pragma once
// Built with ASan/UBSan or TSan (scripts/sanitize.sh)? There an instrumented -O1 model trains
// tens of times slower, so the few tests that train on tens of thousands of rows to check what
// a model learned train smaller and leave that check to the Release suite, which runs it whole.

namespace heed::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEED_TESTS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEED_TESTS_SANITIZED 1
#endif
#endif

#ifdef HEED_TESTS_SANITIZED
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif

}  // namespace heed::testing
