"""``elastic-inference simulate``: how a service's autoscaling follows a traffic trace, what it turns away and what it costs."""
