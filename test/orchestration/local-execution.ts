/** The local executor moved to local/rehearse/ (the rehearsal runs it too); the tests import it from here. */
export * from '../../local/rehearse/local-execution';
