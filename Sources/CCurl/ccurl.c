#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include "CCurl.h"

/* The entry points, resolved once by name from libcurl.so.4 (the soname of libcurl 7.16
 * and later; Debian's libcurl4 package). */
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
    CURLMcode (*multi_wakeup)(CURLM *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    const char *(*multi_strerror)(CURLMcode);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const char *load_error = "libcurl was not loaded";
static char load_error_text[512];

static void load(void) {
    /* RTLD_LOCAL: libcurl's symbols stay out of the global scope; nothing else binds to them. */
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_error_text, sizeof load_error_text, "cannot load libcurl.so.4: %s", why ? why : "dlopen failed");
        load_error = load_error_text;
        return;
    }
#define RESOLVE(field, name)                                                                        \
    do {                                                                                            \
        *(void **)(&curl.field) = dlsym(lib, name);                                                 \
        if (!curl.field) {                                                                          \
            snprintf(load_error_text, sizeof load_error_text, "libcurl.so.4 has no %s", name);     \
            load_error = load_error_text;                                                           \
            return;                                                                                 \
        }                                                                                           \
    } while (0)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_reset, "curl_easy_reset");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(slist_append, "curl_slist_append");
    RESOLVE(slist_free_all, "curl_slist_free_all");
    RESOLVE(multi_init, "curl_multi_init");
    RESOLVE(multi_cleanup, "curl_multi_cleanup");
    RESOLVE(multi_add_handle, "curl_multi_add_handle");
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle");
    RESOLVE(multi_perform, "curl_multi_perform");
    RESOLVE(multi_poll, "curl_multi_poll");
    RESOLVE(multi_wakeup, "curl_multi_wakeup");
    RESOLVE(multi_info_read, "curl_multi_info_read");
    RESOLVE(multi_strerror, "curl_multi_strerror");
#undef RESOLVE
    CURLcode code = curl.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(load_error_text, sizeof load_error_text, "curl_global_init failed: %s", curl.easy_strerror(code));
        load_error = load_error_text;
        return;
    }
    load_error = NULL;
}

const char *bgpmesh_curl_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

CURL *bgpmesh_curl_easy_init(void) { return curl.easy_init(); }
void bgpmesh_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
void bgpmesh_curl_easy_reset(CURL *handle) { curl.easy_reset(handle); }
CURLcode bgpmesh_curl_easy_perform(CURL *handle) { return curl.easy_perform(handle); }
const char *bgpmesh_curl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }
struct curl_slist *bgpmesh_curl_slist_append(struct curl_slist *list, const char *line) { return curl.slist_append(list, line); }
void bgpmesh_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }
CURLM *bgpmesh_curl_multi_init(void) { return curl.multi_init(); }
CURLMcode bgpmesh_curl_multi_cleanup(CURLM *multi) { return curl.multi_cleanup(multi); }
CURLMcode bgpmesh_curl_multi_add_handle(CURLM *multi, CURL *handle) { return curl.multi_add_handle(multi, handle); }
CURLMcode bgpmesh_curl_multi_remove_handle(CURLM *multi, CURL *handle) { return curl.multi_remove_handle(multi, handle); }
CURLMcode bgpmesh_curl_multi_perform(CURLM *multi, int *running) { return curl.multi_perform(multi, running); }
CURLMcode bgpmesh_curl_multi_poll(CURLM *multi, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *numfds) {
    return curl.multi_poll(multi, extra, count, timeout_ms, numfds);
}
CURLMcode bgpmesh_curl_multi_wakeup(CURLM *multi) { return curl.multi_wakeup(multi); }
CURLMsg *bgpmesh_curl_multi_info_read(CURLM *multi, int *queued) { return curl.multi_info_read(multi, queued); }
const char *bgpmesh_curl_multi_strerror(CURLMcode code) { return curl.multi_strerror(code); }

CURLcode bgpmesh_curl_setopt_long(CURL *handle, CURLoption option, long value) { return curl.easy_setopt(handle, option, value); }
CURLcode bgpmesh_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) { return curl.easy_setopt(handle, option, value); }
CURLcode bgpmesh_curl_setopt_string(CURL *handle, CURLoption option, const char *value) { return curl.easy_setopt(handle, option, value); }
CURLcode bgpmesh_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) { return curl.easy_setopt(handle, option, value); }
CURLcode bgpmesh_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) { return curl.easy_setopt(handle, option, value); }
CURLcode bgpmesh_curl_setopt_data_callback(CURL *handle, CURLoption option, bgpmesh_curl_data_callback callback) {
    return curl.easy_setopt(handle, option, callback);
}
CURLcode bgpmesh_curl_setopt_xferinfo_callback(CURL *handle, bgpmesh_curl_xferinfo_callback callback) {
    return curl.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}
CURLcode bgpmesh_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) { return curl.easy_getinfo(handle, info, value); }
CURLcode bgpmesh_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) { return curl.easy_getinfo(handle, info, value); }
