#include "common/tls/certificate.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace kv::tls {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Clears OpenSSL's per-thread error queue when it goes out of scope: errors left behind would
// be reported later by unrelated code on this thread (an Asio or gRPC handshake).
struct ClearErrorsOnExit {
  ~ClearErrorsOnExit() { ERR_clear_error(); }
};

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The oldest error in the queue as text, or `fallback`.
std::string OpenSslError(absl::string_view fallback) {
  unsigned long e = ERR_peek_error();
  if (e == 0) return std::string(fallback);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// True when the queue's last error says "no more PEM blocks": the normal end of a chain.
bool AtEndOfPem() {
  const unsigned long e = ERR_peek_last_error();
  return e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

absl::Time ToTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

std::string SerialText(const X509* x) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::vector<std::string> AltNames(const X509* x) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type == GEN_DNS) {
      const ASN1_STRING* s = n->d.dNSName;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = n->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int len = ASN1_STRING_length(s);
      const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof(text))) {
        names.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return names;
}

CertificateInfo InfoOf(const X509* x) {
  CertificateInfo info;
  info.subject = NameText(X509_get_subject_name(x));
  info.issuer = NameText(X509_get_issuer_name(x));
  info.serial_hex = SerialText(x);
  info.not_before = ToTime(X509_get0_notBefore(x));
  info.not_after = ToTime(X509_get0_notAfter(x));
  info.names = AltNames(x);
  return info;
}

// Every certificate of `pem`, in order. InvalidArgument when there is none or one is broken.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(absl::string_view pem) {
  BioPtr bio = MemBio(pem);
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(x);
  }
  if (!AtEndOfPem()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate #", certs.size() + 1, " does not parse: ", OpenSslError("malformed PEM")));
  }
  if (certs.empty()) return absl::InvalidArgumentError("no PEM certificate found");
  return certs;
}

// Refuses to prompt for (or guess) a passphrase: encrypted keys fail to load.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

std::string FormatCertTime(absl::Time t) {
  if (t == absl::InfinitePast()) return "unknown";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<CertificateInfo> InspectCertificate(absl::string_view pem) {
  ClearErrorsOnExit clear;
  absl::StatusOr<std::vector<X509Ptr>> certs = ParseCertificates(pem);
  if (!certs.ok()) return certs.status();
  return InfoOf(certs->front().get());
}

absl::StatusOr<Identity> CheckIdentity(std::string cert_chain_pem, std::string private_key_pem,
                                       absl::Time now) {
  ClearErrorsOnExit clear;
  absl::StatusOr<std::vector<X509Ptr>> certs = ParseCertificates(cert_chain_pem);
  if (!certs.ok()) return certs.status();
  X509* leaf = certs->front().get();
  CertificateInfo info = InfoOf(leaf);

  BioPtr key_bio = MemBio(private_key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the private key does not parse (encrypted keys are not supported): ",
                     OpenSslError("no PEM private key found")));
  }
  if (X509_check_private_key(leaf, key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the private key does not belong to the certificate (subject ", info.subject, ")"));
  }
  if (now < info.not_before) {
    return absl::InvalidArgumentError(absl::StrCat("the certificate (subject ", info.subject,
                                                   ") is not valid before ",
                                                   FormatCertTime(info.not_before)));
  }
  if (now > info.not_after) {
    return absl::InvalidArgumentError(absl::StrCat("the certificate (subject ", info.subject,
                                                   ") expired at ",
                                                   FormatCertTime(info.not_after)));
  }
  Identity identity;
  identity.cert_chain_pem = std::move(cert_chain_pem);
  identity.private_key_pem = std::move(private_key_pem);
  identity.leaf = std::move(info);
  return identity;
}

absl::StatusOr<int> CheckCaBundle(absl::string_view pem) {
  ClearErrorsOnExit clear;
  absl::StatusOr<std::vector<X509Ptr>> certs = ParseCertificates(pem);
  if (!certs.ok()) return certs.status();
  return static_cast<int>(certs->size());
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string data;
  data.resize(max_bytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is larger than ", max_bytes, " bytes: not a PEM file"));
  }
  return data;
}

}  // namespace kv::tls
