#include "auth/openssl_util.h"

#include <openssl/err.h>

namespace kv::auth {

std::string TakeOpenSslError() {
  unsigned long first = ERR_get_error();
  while (ERR_get_error() != 0) {
  }
  if (first == 0) return "no detail";
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  return buf;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

}  // namespace kv::auth
