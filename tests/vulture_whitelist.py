"""vulture's false positives: names it reports as unused (tests/test_dead_code.py, make lint) that are used where it
cannot see, each with what uses it. vulture reads this file with the code, so ``used.name`` below is a use of
``name``, of every definition of it anywhere: a real leftover of the same name would be hidden too, so a name goes
here only when each of its definitions is used. tests/test_dead_code.py fails when a name here is defined nowhere
else any more. Nothing imports or runs this file."""


class _Used:
    """Any attribute, None: ``used.name`` is a use of ``name`` to vulture and nothing else."""

    def __getattr__(self, _name: str) -> None:
        return None


used = _Used()

# pytest reads a test module's pytestmark (the marks of every test in it).
used.pytestmark

# pytest fixtures a test requests as a parameter for their effect alone, so the parameter is never read:
used.aws_credentials  # tests/conftest.py: fake AWS credentials and region, so nothing can reach real AWS
used.a_proxy_page_for_aws  # tests/conftest.py: AWS_ENDPOINT_URL on a page that is not AWS's answer
used.case_insensitive_disk  # tests/test_bronze_local.py: the local lake as macOS's case-insensitive disk keeps it
# a fixture requested by its name as a string (LAKES, request.getfixturevalue)
used.generated_lake  # tests/test_silver_differential.py
used.dated_lake  # tests/test_silver_differential.py
used.undated_and_dated_lake  # tests/test_silver_differential.py
used.era_dated_lake  # tests/test_silver_differential.py

# scripts/portal_standin.py: the standard library's HTTP server reads these of its subclasses.
used.daemon_threads  # socketserver.ThreadingMixIn
used.allow_reuse_address  # socketserver.TCPServer
used.protocol_version  # http.server.BaseHTTPRequestHandler: HTTP/1.1, keep-alive
used.log_message  # BaseHTTPRequestHandler's logging, sent to our logger
used.do_GET  # BaseHTTPRequestHandler's dispatch by method
used.do_HEAD
used.do_POST  # tests/conftest.py's page for AWS's clients: botocore posts and puts
used.do_PUT
used.close_connection  # BaseHTTPRequestHandler.handle: end the connection after this request

# scripts/ingestao_bronze.py's RewrittenMessages: logging formats a record from its msg.
used.msg

# tests/test_bronze_standin.py's NoRedirect: urllib.request's HTTPRedirectHandler calls it.
used.redirect_request

# Stand-ins that must take the arguments of what they replace, though they do not read them:
used.amount, used.decode_content  # tests/test_bronze_faults.py's responses: urllib3's HTTPResponse.stream
used.fd  # tests/test_bronze_local.py: os.fsync failing with a full disk
used.exc  # tests/test_quicksight_deploy.py's StubbedAws.__exit__(*exc): the context manager protocol

# pytest-xdist calls a conftest's hook by its name.
used.pytest_xdist_make_scheduler  # tests/conftest.py: the test files' workers

# py4j reads these of a Python object that stands for a Java interface (forward_java_signals, in both jobs: a
# sun.misc.SignalHandler whose handle Java calls).
used.Java  # the nested class py4j looks for
used.implements  # the Java interfaces it names
