"""letterhead.aws: the seam to AWS, shared by sync, send, the account commands
and the local servers.

In: the region, endpoint, credentials and retry settings a command has, and
botocore's answers and failures.  Out: boto3 sessions and clients made one way,
letterhead errors with the fix worded for the command, one rate limiter and
one send-quota type, and the loopback rule for local endpoints and servers.

Modules:

* :mod:`~letterhead.aws.client`: the one place boto3 sessions and clients are
  made (retry config, endpoint, region check, log redaction, remembered
  secrets), whether an endpoint is SES itself, and the check of every answer
  that turns a page from something other than SES (the preview's port, a
  proxy, moto's HTML 500) into ``NotSesEndpoint`` before botocore parses it;
* :mod:`~letterhead.aws.errors`: botocore failures → ``RemoteError`` (sync,
  account) or ``SendError`` (send), one classification, per-command fixes;
* :mod:`~letterhead.aws.ratelimit`: the thread-safe token bucket every paced
  call waits on;
* :mod:`~letterhead.aws.quota`: ``SendQuota`` (GetSendQuota);
* :mod:`~letterhead.aws.redact`: credentials and template data out of
  botocore's and urllib3's logs;
* :mod:`~letterhead.aws.loopback`: which hosts are loopback, and the guard of
  the local servers (DNS rebinding, CORS).

Importing the package or any of its modules imports neither boto3 nor botocore.
"""
