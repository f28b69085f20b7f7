"""The Kubernetes adapter, with the official client: leaves that take plain inputs.

``auth`` finds credentials (kubeconfig, context, in-cluster) and connects; ``api`` sends one
request and turns every way the API can fail into a message naming the cluster, namespace and
fix; ``read`` lists pods and services cheaply and asks engines through the services proxy;
``write`` applies the Secret llmgw manages. None of them imports the config or a pipeline
stage: they take namespaces, selectors and names, and return ``state.ClusterState`` or plain
data. Which models are ready is decided in ``discovery``, for every source alike.
"""
