#pragma once
// A request the server refuses: an HTTP status, a short machine-readable kind (the label it is
// counted under in /metrics) and a message naming the problem for the client.
#include <string>

#include "core/error.h"

namespace heed::serve {

class RequestError : public Error {
 public:
  RequestError(int status, std::string kind, const std::string& message)
      : Error(message), status_(status), kind_(std::move(kind)) {}
  int status() const { return status_; }
  const std::string& kind() const { return kind_; }

 private:
  int status_;
  std::string kind_;
};

}  // namespace heed::serve
