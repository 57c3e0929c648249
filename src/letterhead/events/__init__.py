"""letterhead.events: SES's notifications back into the application (issue 16).

In: SES notifications, by SNS over HTTPS or from an SQS queue.  Out: typed
:class:`~letterhead.events.model.SesEvent` objects handed to the
application's handlers, permanent bounces and complaints in a suppression
store the Mailer consults, and a journal of what happened for live rates.

Modules (each owns one step):

* :mod:`~letterhead.events.model`: ``SesEvent``, ``Suppression`` (plain frozen data);
* :mod:`~letterhead.events.normalize`: SES's JSON (event publishing and identity
  notifications) → ``SesEvent``, one per recipient;
* :mod:`~letterhead.events.sns`: SNS signature checks (versions 1 and 2, the
  certificate host rule, the topic allowlist, replays) and subscription confirmation;
* :mod:`~letterhead.events.consumer`: verify, normalise, suppress, journal, dispatch;
* :mod:`~letterhead.events.asgi`, :mod:`~letterhead.events.sqs`: the two ways in;
* :mod:`~letterhead.events.suppression`: the store interface, SQLite and SES's list;
* :mod:`~letterhead.events.journal`: sends and events in SQLite, for live rates
  and for naming the variables a rendering failure lacked;
* :mod:`~letterhead.events.database`: how both open their shared SQLite file.

Importing the package imports neither boto3 nor an HTTP server.
"""
