#include "distributed/communicator.h"

namespace heed {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(std::span<float>) override {}
  void sum(std::span<double>) override {}
  void broadcast(std::string&, int) override {}
  void barrier() override {}
  std::vector<std::string> all_to_all(std::vector<std::string> to_each) override { return to_each; }
  std::uint64_t bytes_sent() const override { return 0; }
};

}  // namespace

std::unique_ptr<Communicator> single_process() { return std::make_unique<SingleProcess>(); }

}  // namespace heed
