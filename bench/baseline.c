/*
 * baseline: the reference server for bench/run.sh. It answers every request with the same fixed
 * ~1.2 KB JSON body shaped like a VerificationSession, on the same HTTP library and with the same
 * configuration a production server would use (epoll event loop, thread pool of 2, keep-alive).
 * Its throughput is the ceiling the benchmark divides verifyd's figures by, so that the targets
 * are ratios measured in the same run on the same machine.
 *
 * It is not a server to build on: no routing, no parsing, no error handling beyond startup. It
 * reads and discards any request body, then sends the fixed response.
 *
 * Usage: baseline PORT   (listens on 127.0.0.1 only; stops on SIGINT or SIGTERM)
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

/* A VerificationSession as the API returns it, about 1.2 KB. */
static const char body[] =
    "{\n"
    "  \"id\": \"vs_1PqBenchBaseline0000000000\",\n"
    "  \"object\": \"identity.verification_session\",\n"
    "  \"client_reference_id\": null,\n"
    "  \"client_secret\": "
    "\"vs_1PqBenchBaseline0000000000_secret_test_YWNjdF8xUHFCZW5jaEJhc2VsaW5lMDAw\",\n"
    "  \"created\": 1718000000,\n"
    "  \"last_error\": null,\n"
    "  \"last_verification_report\": null,\n"
    "  \"livemode\": false,\n"
    "  \"metadata\": {\n"
    "    \"n\": \"1\"\n"
    "  },\n"
    "  \"options\": {\n"
    "    \"document\": {\n"
    "      \"allowed_types\": [\n"
    "        \"driving_license\",\n"
    "        \"id_card\",\n"
    "        \"passport\"\n"
    "      ],\n"
    "      \"require_id_number\": false,\n"
    "      \"require_live_capture\": false,\n"
    "      \"require_matching_selfie\": false\n"
    "    }\n"
    "  },\n"
    "  \"provided_details\": null,\n"
    "  \"redaction\": null,\n"
    "  \"related_customer\": null,\n"
    "  \"status\": \"requires_input\",\n"
    "  \"type\": \"document\",\n"
    "  \"url\": \"https://verify.stripe.com/start/"
    "test_YWNjdF8xUHFCZW5jaEJhc2VsaW5lMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw\",\n"
    "  \"verification_flow\": null,\n"
    "  \"verified_outputs\": null,\n"
    "  \"return_url\": null,\n"
    "  \"related_person\": null,\n"
    "  \"last_error_details\": {\n"
    "    \"code\": null,\n"
    "    \"reason\": null,\n"
    "    \"note\": \"fixed padding so that the body is about the size of a real session\"\n"
    "  },\n"
    "  \"client_reference_note\": \"baseline server for bench/run.sh, same library and "
    "configuration as verifyd\"\n"
    "}\n";

/* Created once, shared by every connection and thread; libmicrohttpd reference-counts it. */
static struct MHD_Response *response;

/* POST bodies received: bench/webhooks.sh uses this server as its webhook receiver too (a
 * receiver that costs next to no CPU on the shared cores), and reads the count at /count. */
static atomic_long posts;

/* A marker for "headers seen" in *con_cls; its address is all that matters. */
static int headers_seen;

/*
 * libmicrohttpd calls this at least twice per request: first after the headers, then once per
 * chunk of body, then once more with *upload_data_size == 0. The response is queued only on a
 * later call, never on the first one: in 0.9.75 queueing on the first call made connections
 * close after every request (see shared/MEASURED.md).
 */
static MHD_Result_t on_request(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = &headers_seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* discard the body */
        return MHD_YES;
    }
    if (strcmp(method, "POST") == 0) atomic_fetch_add(&posts, 1);
    if (strcmp(url, "/count") == 0) {
        char text[64];
        int n = snprintf(text, sizeof text, "{\"count\":%ld}", atomic_load(&posts));
        struct MHD_Response *r =
            MHD_create_response_from_buffer((size_t)n, text, MHD_RESPMEM_MUST_COPY);
        if (r == NULL) return MHD_NO;
        MHD_Result_t rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return rc;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, response);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    long port = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || port <= 0 || port > 65535) {
        fprintf(stderr, "baseline: bad port '%s'\n", argv[1]);
        return 2;
    }

    /* Block the stop signals before any thread starts, so that only sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    response =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (response == NULL ||
        MHD_add_response_header(response, "Content-Type", "application/json") != MHD_YES) {
        fprintf(stderr, "baseline: cannot create the response\n");
        return 1;
    }

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t)port, NULL, NULL,
                         on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned int)4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "baseline: cannot listen on 127.0.0.1:%ld\n", port);
        MHD_destroy_response(response);
        return 1;
    }
    fprintf(stderr, "baseline: listening on 127.0.0.1:%ld (%zu-byte body)\n", port,
            sizeof body - 1);

    int sig = 0;
    sigwait(&stop, &sig);

    MHD_stop_daemon(d);
    MHD_destroy_response(response);
    return 0;
}
