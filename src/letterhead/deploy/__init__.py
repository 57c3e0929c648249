"""letterhead.deploy: the second line of the data flow, ``ses_templates/`` →
the templates in SES (``letterhead sync``).

In: the :class:`~letterhead.config.Config` (its ``[tool.letterhead.sync]`` and
``[tool.letterhead.env.<NAME>]`` settings), ``ses_templates/`` (payloads and
``manifest.json``, as the build wrote them) and the options of ``letterhead
sync``.  Out: a ``SyncPlan`` (create / update with a diff / unchanged /
delete-candidate), the API calls that apply it, a ``SyncResult``, and
``ses_templates/deployed/<env>.json`` (the deployed names the sending side
reads).  Needs neither MJML nor Jinja.

Modules, in the order a sync uses them:

* :mod:`~letterhead.deploy.naming`: a deployment's settings and the names it
  gives templates in SES (``Namespace``, ``load_settings``, ``namespace_for``,
  the deployed-names file); read by the mailer and the account doctor too;
* :mod:`~letterhead.deploy.template_store`: the one boto3 use for templates
  (list, get, create, update, delete, test-render), paced and retried;
* :mod:`~letterhead.deploy.plan`: the pure diff of local payloads against SES;
* :mod:`~letterhead.deploy.sync`: validate, plan, confirm, apply, prune, verify.

Importing the package loads nothing.
"""
