package io.avance.testkit.policy;

import io.avance.api.failover.FailoverPolicy;
import io.avance.core.failover.DefaultFailoverPolicy;

/** The default policy passes the contract every policy must pass. */
class DefaultFailoverPolicyContractTest extends FailoverPolicyContract {

    @Override
    protected FailoverPolicy policy() {
        return DefaultFailoverPolicy.withDefaults();
    }
}
