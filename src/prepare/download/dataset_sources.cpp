#include "prepare/download/dataset_sources.h"

#include <fmt/ranges.h>

#include "core/error.h"

namespace heed::download {
namespace {

// No SHA-256 is recorded for any file: the owners publish none that heed could cite, and a
// value heed made up itself could not be trusted. GroupLens publishes an MD5 beside each zip,
// which is checked; otherwise verification is the structure check (`expect`), or --sha256.
std::vector<DatasetSource> make_sources() {
  const std::string grouplens = "https://files.grouplens.org/datasets/movielens/";
  const std::string frappe =
      "https://raw.githubusercontent.com/hexiangnan/neural_factorization_machine/master/data/frappe/";
  return {
      {"ml-100k",
       "MovieLens 100K (GroupLens, 1998)",
       "research use; do not redistribute (README in the zip)",
       {{grouplens + "ml-100k.zip", "ml-100k.zip", "", grouplens + "ml-100k.zip.md5", true}},
       {"ml-100k/u.data", "ml-100k/u.user", "ml-100k/u.item", "ml-100k/u.genre", "ml-100k/u1.base",
        "ml-100k/u1.test"},
       "heed prepare ml-100k --source OUT/ml-100k --out data/ml100k",
       ""},
      {"ml-1m",
       "MovieLens 1M (GroupLens, 2003)",
       "research use; do not redistribute (README in the zip)",
       {{grouplens + "ml-1m.zip", "ml-1m.zip", "", grouplens + "ml-1m.zip.md5", true}},
       {"ml-1m/ratings.dat", "ml-1m/users.dat", "ml-1m/movies.dat"},
       "heed prepare ml-1m --source OUT/ml-1m --out data/ml1m",
       ""},
      {"frappe",
       "Frappe app usage, libFM files of the NFM paper's split (Baltrunas et al. 2015; He & Chua 2017)",
       "research use, no redistribution, no commercial use (frappe README)",
       {{frappe + "frappe.train.libfm", "frappe.train.libfm", "", "", false},
        {frappe + "frappe.validation.libfm", "frappe.validation.libfm", "", "", false},
        {frappe + "frappe.test.libfm", "frappe.test.libfm", "", "", false}},
       {"frappe.train.libfm", "frappe.validation.libfm", "frappe.test.libfm"},
       "heed prepare frappe --source OUT --out data/frappe",
       ""},
      {"criteo",
       "Criteo Display Advertising Challenge (Kaggle, 2014)",
       "Criteo's research licence; accepted on the download page",
       {},
       {},
       "heed prepare criteo --source OUT --out data/criteo",
       "Criteo's Kaggle data needs an account: sign in at "
       "https://www.kaggle.com/c/criteo-display-ad-challenge, accept the rules, download the "
       "data (dac.tar.gz), then `tar xzf dac.tar.gz -C OUT` to get OUT/train.txt "
       "(OUT/test.txt has no labels and is not used)"},
      {"avazu",
       "Avazu Click-Through Rate Prediction (Kaggle, 2014)",
       "Kaggle competition rules; accepted on the download page",
       {},
       {},
       "heed prepare avazu --source OUT --out data/avazu",
       "Avazu's Kaggle data needs an account: sign in at "
       "https://www.kaggle.com/c/avazu-ctr-prediction, accept the rules, download train.gz "
       "into OUT; heed reads it compressed (OUT/train.gz). The test file has no "
       "labels and is not used"},
      {"taobao",
       "Taobao UserBehavior (Alibaba, Tianchi dataset 649)",
       "Tianchi's terms: research use; accepted on the download page",
       {},
       {},
       "heed prepare taobao --source OUT --out data/taobao",
       "Taobao UserBehavior needs a Tianchi (Alibaba Cloud) account: sign in at "
       "https://tianchi.aliyun.com/dataset/649, download UserBehavior.csv.zip, "
       "then `unzip UserBehavior.csv.zip -d OUT` to get OUT/UserBehavior.csv"},
  };
}

}  // namespace

std::span<const DatasetSource> dataset_sources() {
  static const std::vector<DatasetSource> sources = make_sources();
  return sources;
}

const DatasetSource& find_dataset_source(std::string_view name) {
  std::vector<std::string_view> names;
  for (const DatasetSource& source : dataset_sources()) {
    if (source.name == name) return source;
    names.push_back(source.name);
  }
  throw Error(fmt::format("unknown dataset '{}'; known datasets: {}", name, fmt::join(names, ", ")));
}

}  // namespace heed::download
