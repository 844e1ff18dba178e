#pragma once
// Owning pointers for the OpenSSL 3 objects the auth library uses, and the error-queue reader.
// An EVP_PKEY is only read after construction, which OpenSSL allows from many threads at once.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace kv::auth {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BignumFree {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;

// Drains this thread's OpenSSL error queue; returns the first error's text (or "no detail").
std::string TakeOpenSslError();

// Reads a BIO's whole contents.
std::string BioContents(BIO* bio);

}  // namespace kv::auth
