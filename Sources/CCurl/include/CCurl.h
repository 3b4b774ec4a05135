#ifndef CCURL_H
#define CCURL_H
/* libcurl, loaded with dlopen("libcurl.so.4") the first time the etcd client needs it,
 * so an agent without etcd never maps libcurl and its TLS, Kerberos and LDAP libraries
 * (about 5.5 MiB resident). <curl/curl.h> gives the types and constants; every call
 * goes through the bgpmesh_curl_* functions below. Calling a curl_* function directly
 * does not link, as libcurl is not linked. */
#include <curl/curl.h>

/// Loads libcurl and runs curl_global_init(CURL_GLOBAL_DEFAULT), once per process.
/// Returns NULL on success, or why it failed (a static string, e.g. dlerror's text).
const char *bgpmesh_curl_load(void);

/* The libcurl calls the etcd client makes; only valid after bgpmesh_curl_load succeeded. */
CURL *bgpmesh_curl_easy_init(void);
void bgpmesh_curl_easy_cleanup(CURL *handle);
void bgpmesh_curl_easy_reset(CURL *handle);
CURLcode bgpmesh_curl_easy_perform(CURL *handle);
const char *bgpmesh_curl_easy_strerror(CURLcode code);
struct curl_slist *bgpmesh_curl_slist_append(struct curl_slist *list, const char *line);
void bgpmesh_curl_slist_free_all(struct curl_slist *list);
CURLM *bgpmesh_curl_multi_init(void);
CURLMcode bgpmesh_curl_multi_cleanup(CURLM *multi);
CURLMcode bgpmesh_curl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode bgpmesh_curl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode bgpmesh_curl_multi_perform(CURLM *multi, int *running);
CURLMcode bgpmesh_curl_multi_poll(CURLM *multi, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *numfds);
CURLMcode bgpmesh_curl_multi_wakeup(CURLM *multi);
CURLMsg *bgpmesh_curl_multi_info_read(CURLM *multi, int *queued);
const char *bgpmesh_curl_multi_strerror(CURLMcode code);

/* libcurl's curl_easy_setopt and curl_easy_getinfo are C variadic functions, which Swift
 * cannot call. These typed wrappers pass each argument with the exact C type the option
 * expects (long, curl_off_t, char *, void *, function pointer). */

typedef size_t (*bgpmesh_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);
typedef int (*bgpmesh_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                              curl_off_t ultotal, curl_off_t ulnow);

CURLcode bgpmesh_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode bgpmesh_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
CURLcode bgpmesh_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode bgpmesh_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode bgpmesh_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
/* CURLOPT_WRITEFUNCTION or CURLOPT_HEADERFUNCTION. */
CURLcode bgpmesh_curl_setopt_data_callback(CURL *handle, CURLoption option, bgpmesh_curl_data_callback callback);
CURLcode bgpmesh_curl_setopt_xferinfo_callback(CURL *handle, bgpmesh_curl_xferinfo_callback callback);
CURLcode bgpmesh_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode bgpmesh_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);

#endif
