"""Two floors in one package. The shared base every layer may import: typed settings (`settings`), the search
document's contract (`index_contract`), the domain errors (`errors`), shared field types (`field_types`), the
OpenSearch client factory (`opensearch_client`); these import no layer.
The top: the `catalog` command line (`cli/`), `catalog run`'s processes and their supervisor (`run`, `supervisor`,
`api_worker`), which may import anything and which nothing below imports."""
