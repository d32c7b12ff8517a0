import { startDynalite } from '../../local/dynamodb.js';
import { describeLedgerContract } from './ledger.contract.js';

describeLedgerContract('dynalite', startDynalite);
