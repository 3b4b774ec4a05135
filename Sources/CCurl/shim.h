#include <curl/curl.h>

/* libcurl's curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are C variadic
 * functions, which Swift cannot call. These typed wrappers pass each argument with the
 * exact C type the option expects (long, curl_off_t, char *, void *, function pointer). */

typedef size_t (*bgpmesh_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);
typedef int (*bgpmesh_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                              curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode bgpmesh_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode bgpmesh_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode bgpmesh_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode bgpmesh_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode bgpmesh_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/* CURLOPT_WRITEFUNCTION or CURLOPT_HEADERFUNCTION. */
static inline CURLcode bgpmesh_curl_setopt_data_callback(CURL *handle, CURLoption option, bgpmesh_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode bgpmesh_curl_setopt_xferinfo_callback(CURL *handle, bgpmesh_curl_xferinfo_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

static inline CURLcode bgpmesh_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode bgpmesh_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
