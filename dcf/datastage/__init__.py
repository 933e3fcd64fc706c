"""DataStage import: sequence exports (ISX, XML, DSX) read into one model, mapped onto stream YAMLs.

``containers`` recognises an export by its content and yields its jobs (``dsx`` streams text exports,
``xmi`` reads the XML form of ISX assets and XML exports, hardened against entity expansion); ``model`` is
what every reader produces; ``basic`` translates BASIC trigger and user-variable expressions to the stream
grammar; ``mapping`` turns one sequence into a stream YAML and the report's entries; ``migration_report`` writes the
migration report. No Prefect here: ``flows.import_datastage`` is the command and the flow.
"""
